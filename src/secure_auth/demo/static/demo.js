// secure-auth demo: the page glue around the passkey module secure-auth ships.
// Every page works without JavaScript except the passkey buttons, which stay
// hidden (or disabled) unless this browser can use passkeys here.

import {
  PasskeyRequestError,
  isConditionalMediationAvailable,
  isSupported,
  registerPasskey,
  signInWithPasskey,
} from "./passkeys.js";

/** Words for a failed passkey ceremony, or null when there is nothing to say. */
function explain(error) {
  if (error instanceof PasskeyRequestError) {
    if (error.body && typeof error.body.message === "string") return error.body.message;
    if (error.status === 401) return "Your session has ended. Please sign in again.";
    if (error.status === 403) return "This request was refused. Reload the page and try again.";
    return "The server could not complete the passkey request. Please try again.";
  }
  switch (error && error.name) {
    case "AbortError":
      return null;
    case "NotAllowedError":
      return "The passkey request was cancelled or timed out. Nothing was changed.";
    case "InvalidStateError":
      return "This device already holds a passkey for your account.";
    case "SecurityError":
      return "Passkeys are not allowed on this address. Open the demo at http://localhost.";
    case "NotSupportedError":
      return "This device cannot create a passkey that this site accepts.";
    case "TypeError":
      return "The demo server did not answer. Is it still running?";
    default:
      return "Your browser could not use a passkey. Please try again.";
  }
}

function show(status, message, kind) {
  if (!status) return;
  status.textContent = message || "";
  status.classList.toggle("error", kind === "error");
}

function withNext(url, next) {
  return next ? `${url}?next=${encodeURIComponent(next)}` : url;
}

// -- sign in: a button, and passkey autofill in the login field -----------------

function setUpSignIn(box) {
  if (!isSupported()) return;
  const button = box.querySelector("[data-passkey-button]");
  const status = box.querySelector("[data-passkey-status]");
  const urls = {
    optionsUrl: "/passkeys/login/options",
    verifyUrl: withNext("/passkeys/login/verify", box.dataset.next),
  };
  box.hidden = false;

  // Conditional UI: the browser offers passkeys in the login field's
  // autofill (autocomplete="username webauthn") and this waits until one is
  // chosen. A click on the button replaces it; it starts again afterwards.
  async function offerAutofill() {
    if (!(await isConditionalMediationAvailable())) return;
    try {
      const result = await signInWithPasskey({ ...urls, mediation: "conditional" });
      if (result) window.location.assign(result.redirect);
    } catch (error) {
      const message = explain(error);
      if (message) show(status, message, "error");
    }
  }

  button.addEventListener("click", async () => {
    button.disabled = true;
    show(status, "Waiting for your passkey…");
    try {
      const result = await signInWithPasskey(urls);
      show(status, "Signed in. Opening your account…");
      window.location.assign(result.redirect);
    } catch (error) {
      show(status, explain(error) || "Nothing was changed.", "error");
      button.disabled = false;
      offerAutofill();
    }
  });

  offerAutofill();
}

// -- account: add a passkey --------------------------------------------------------

function setUpAdd(box) {
  const button = box.querySelector("[data-passkey-button]");
  const status = box.querySelector("[data-passkey-status]");
  if (!isSupported()) {
    show(status, "This browser cannot use passkeys on this page.", "error");
    return;
  }
  button.hidden = false;
  button.addEventListener("click", async () => {
    button.disabled = true;
    show(status, "Follow your browser's steps to create the passkey…");
    try {
      const result = await registerPasskey({
        optionsUrl: "/account/passkeys/options",
        verifyUrl: "/account/passkeys/verify",
      });
      show(status, "Passkey added.");
      window.location.assign(result.redirect);
    } catch (error) {
      show(status, explain(error) || "Nothing was changed.", "error");
      button.disabled = false;
    }
  });
}

// -- session renewal: the access cookie expired, the refresh cookie may not ------

async function renew(main) {
  const next = main.dataset.next || "/account";
  try {
    const response = await fetch(main.dataset.refresh, {
      method: "POST",
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    });
    if (response.ok) {
      window.location.replace(next);
      return;
    }
  } catch {
    // Fall through to signing in again.
  }
  window.location.replace(`/signin?notice=expired&next=${encodeURIComponent(next)}`);
}

// -- confirmations for destructive buttons -----------------------------------------

for (const form of document.querySelectorAll("form[data-confirm]")) {
  form.addEventListener("submit", (event) => {
    if (!window.confirm(form.dataset.confirm)) event.preventDefault();
  });
}

const main = document.querySelector("main[data-refresh]");
if (main) renew(main);
const signIn = document.querySelector("[data-passkey-signin]");
if (signIn) setUpSignIn(signIn);
const add = document.querySelector("[data-passkey-add]");
if (add) setUpAdd(add);
