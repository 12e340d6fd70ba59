// secure-auth passkeys: the browser half of the WebAuthn ceremonies.
//
// A dependency-free ES module. It turns the server's JSON options into what
// navigator.credentials.create/get expect, runs the ceremony, turns the
// resulting credential back into JSON and posts it. It uses the browser's own
// PublicKeyCredential.parseCreationOptionsFromJSON / parseRequestOptionsFromJSON
// and credential.toJSON() where they exist, and a base64url fallback elsewhere.
//
//   import { registerPasskey, signInWithPasskey } from "/auth/passkeys.js";
//   await registerPasskey();          // the signed-in user adds a passkey
//   await signInWithPasskey();        // usernameless sign-in
//   // passkey autofill (<input autocomplete="username webauthn">):
//   signInWithPasskey({ mediation: "conditional" });
//
// The defaults are the routes secure_auth.web mounts under /auth
// (POST /auth/passkey/register/options, /auth/passkey/register,
// /auth/passkey/login/options, /auth/passkey/login); pass authPath for
// another WebConfig.auth_path, or optionsUrl / verifyUrl for routes of your own.
//
// Served by the Python package: GET /auth/passkeys.js with the framework
// integrations, or secure_auth.passkeys.javascript_path() as a static file.

/** An HTTP answer that was not 2xx. `status` and `body` (parsed JSON when possible). */
export class PasskeyRequestError extends Error {
  constructor(message, { status, body } = {}) {
    super(message);
    this.name = "PasskeyRequestError";
    this.status = status;
    this.body = body;
  }
}

// -- base64url ------------------------------------------------------------------

/** ArrayBuffer or view -> unpadded base64url text. */
export function toBase64url(buffer) {
  const bytes = buffer instanceof ArrayBuffer
    ? new Uint8Array(buffer)
    : new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Unpadded (or padded) base64url text -> ArrayBuffer. */
export function fromBase64url(text) {
  const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
  const binary = atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes.buffer;
}

// -- feature detection ----------------------------------------------------------

/** True when this browser can do WebAuthn at all (secure context, API present). */
export function isSupported() {
  return typeof window !== "undefined" && window.isSecureContext === true &&
    typeof window.PublicKeyCredential === "function" &&
    typeof navigator.credentials?.get === "function";
}

/** True when passkey autofill (conditional mediation) is available. */
export async function isConditionalMediationAvailable() {
  if (!isSupported()) return false;
  const check = PublicKeyCredential.isConditionalMediationAvailable;
  if (typeof check !== "function") return false;
  try {
    return (await check.call(PublicKeyCredential)) === true;
  } catch {
    return false;
  }
}

// -- options: JSON -> WebAuthn dictionaries ---------------------------------------

function unwrap(options) {
  // Accept the bare options or {publicKey: options}.
  return options && typeof options === "object" && options.publicKey ? options.publicKey : options;
}

function descriptors(list) {
  return (list || []).map((d) => ({ ...d, id: fromBase64url(d.id) }));
}

/** PublicKeyCredentialCreationOptionsJSON -> PublicKeyCredentialCreationOptions. */
export function creationOptionsFromJSON(json) {
  const options = unwrap(json);
  const native = globalThis.PublicKeyCredential?.parseCreationOptionsFromJSON;
  if (typeof native === "function") return native.call(PublicKeyCredential, options);
  const out = {
    ...options,
    challenge: fromBase64url(options.challenge),
    user: { ...options.user, id: fromBase64url(options.user.id) },
  };
  if (options.excludeCredentials) out.excludeCredentials = descriptors(options.excludeCredentials);
  return out;
}

/** PublicKeyCredentialRequestOptionsJSON -> PublicKeyCredentialRequestOptions. */
export function requestOptionsFromJSON(json) {
  const options = unwrap(json);
  const native = globalThis.PublicKeyCredential?.parseRequestOptionsFromJSON;
  if (typeof native === "function") return native.call(PublicKeyCredential, options);
  const out = { ...options, challenge: fromBase64url(options.challenge) };
  if (options.allowCredentials) out.allowCredentials = descriptors(options.allowCredentials);
  return out;
}

// -- credential -> JSON -----------------------------------------------------------

/** A PublicKeyCredential as RegistrationResponseJSON / AuthenticationResponseJSON. */
export function credentialToJSON(credential) {
  if (typeof credential.toJSON === "function") {
    try {
      return credential.toJSON();
    } catch {
      // Some extension results cannot be serialised by toJSON: fall back.
    }
  }
  const r = credential.response;
  const json = {
    id: credential.id,
    rawId: toBase64url(credential.rawId),
    type: credential.type,
    authenticatorAttachment: credential.authenticatorAttachment ?? null,
    clientExtensionResults: {},
    response: { clientDataJSON: toBase64url(r.clientDataJSON) },
  };
  try {
    const results = credential.getClientExtensionResults?.() ?? {};
    // Keep only what JSON can carry (credProps and the like).
    json.clientExtensionResults = JSON.parse(JSON.stringify(results));
  } catch {
    json.clientExtensionResults = {};
  }
  if (r.attestationObject) {
    json.response.attestationObject = toBase64url(r.attestationObject);
    json.response.transports = typeof r.getTransports === "function" ? r.getTransports() : [];
  } else {
    json.response.authenticatorData = toBase64url(r.authenticatorData);
    json.response.signature = toBase64url(r.signature);
    json.response.userHandle = r.userHandle ? toBase64url(r.userHandle) : null;
  }
  return json;
}

// -- ceremonies ------------------------------------------------------------------

// One WebAuthn request may be pending at a time; a conditional (autofill)
// request waits indefinitely, so a modal request cancels it first.
let pendingConditional = null;

function cancelConditional() {
  if (pendingConditional) {
    pendingConditional.abort(new DOMException("replaced by a new passkey request", "AbortError"));
    pendingConditional = null;
  }
}

/** Run navigator.credentials.create and return the credential's JSON. */
export async function createPasskey(optionsJSON, { signal } = {}) {
  cancelConditional();
  const publicKey = creationOptionsFromJSON(optionsJSON);
  const credential = await navigator.credentials.create({ publicKey, signal });
  if (!credential) throw new DOMException("no credential was created", "NotAllowedError");
  return credentialToJSON(credential);
}

/**
 * Run navigator.credentials.get and return the credential's JSON.
 * mediation: "optional" (default), "required", or "conditional" (autofill;
 * resolves to null when the browser cannot do it, or when a later request
 * replaced this one).
 */
export async function getPasskey(optionsJSON, { mediation, signal } = {}) {
  cancelConditional();
  const publicKey = requestOptionsFromJSON(optionsJSON);
  const request = { publicKey };
  if (mediation === "conditional") {
    if (!(await isConditionalMediationAvailable())) return null;
    const controller = new AbortController();
    if (signal) signal.addEventListener("abort", () => controller.abort(signal.reason), { once: true });
    pendingConditional = controller;
    request.mediation = "conditional";
    request.signal = controller.signal;
    try {
      const credential = await navigator.credentials.get(request);
      return credential ? credentialToJSON(credential) : null;
    } catch (error) {
      if (error?.name === "AbortError" && controller.signal.aborted && !signal?.aborted) return null;
      throw error;
    } finally {
      if (pendingConditional === controller) pendingConditional = null;
    }
  }
  if (mediation) request.mediation = mediation;
  if (signal) request.signal = signal;
  const credential = await navigator.credentials.get(request);
  if (!credential) throw new DOMException("no credential was returned", "NotAllowedError");
  return credentialToJSON(credential);
}

// -- talking to the server ---------------------------------------------------------

/** Where secure-auth's routes live by default (WebConfig.auth_path). */
export const DEFAULT_AUTH_PATH = "/auth";

/** POST JSON, return the parsed JSON answer; throws PasskeyRequestError unless 2xx. */
export async function postJSON(url, body, { headers = {}, fetchOptions = {} } = {}) {
  const response = await fetch(url, {
    method: "POST",
    credentials: "same-origin",
    ...fetchOptions,
    headers: { "Content-Type": "application/json", Accept: "application/json", ...headers },
    body: JSON.stringify(body ?? {}),
  });
  const text = await response.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = text;
  }
  if (!response.ok) {
    throw new PasskeyRequestError(`${url} answered ${response.status}`, {
      status: response.status,
      body: parsed,
    });
  }
  return parsed;
}

/**
 * Register a passkey for the signed-in user: fetch options from optionsUrl
 * (POSTing `data`), create the credential, POST it to verifyUrl and return the
 * server's answer. `buildBody(credentialJSON)` shapes what is posted (default:
 * the credential JSON itself), e.g. `(c) => ({ ...c, label })` to name it.
 * The URLs default to `${authPath}/passkey/register/options` and
 * `${authPath}/passkey/register`.
 */
export async function registerPasskey({
  authPath = DEFAULT_AUTH_PATH,
  optionsUrl = `${authPath}/passkey/register/options`,
  verifyUrl = `${authPath}/passkey/register`,
  data = {},
  headers = {},
  signal,
  buildBody = (credential) => credential,
} = {}) {
  const options = await postJSON(optionsUrl, data, { headers });
  const credential = await createPasskey(options, { signal });
  return postJSON(verifyUrl, buildBody(credential), { headers });
}

/**
 * Sign in with a passkey: fetch options from optionsUrl (POSTing `data`, e.g.
 * {username} for routes of your own; {} for usernameless), get the assertion,
 * POST it to verifyUrl and return the server's answer. With mediation
 * "conditional" it resolves to null when autofill is unavailable or was
 * replaced by another request. The URLs default to
 * `${authPath}/passkey/login/options` and `${authPath}/passkey/login`.
 */
export async function signInWithPasskey({
  authPath = DEFAULT_AUTH_PATH,
  optionsUrl = `${authPath}/passkey/login/options`,
  verifyUrl = `${authPath}/passkey/login`,
  data = {},
  headers = {},
  mediation,
  signal,
  buildBody = (credential) => credential,
} = {}) {
  if (mediation === "conditional" && !(await isConditionalMediationAvailable())) return null;
  const options = await postJSON(optionsUrl, data, { headers });
  const credential = await getPasskey(options, { mediation, signal });
  if (credential === null) return null;
  return postJSON(verifyUrl, buildBody(credential), { headers });
}
