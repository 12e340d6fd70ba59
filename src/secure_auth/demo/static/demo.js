// secure-auth demo: the page glue around the passkey module secure-auth ships.
// The module and the routes it talks to by default (/auth/passkey/...) are the
// library's; this file only wires them to the pages. Every page works without
// JavaScript except the passkey buttons, which stay hidden (or disabled)
// unless this browser can use passkeys here.

import {
  PasskeyRequestError,
  isSupported,
  registerPasskey,
  signInWithPasskey,
} from "/auth/passkeys.js";

/**
 * Words for a failed passkey ceremony, or null when there is nothing to say.
 * `messages` is the demo's table of words for the server's error codes
 * (text.ERRORS, in the box's data-messages).
 */
function explain(error, messages) {
  if (error instanceof PasskeyRequestError) {
    const words = messages[error.body && error.body.error];
    return words || "The server could not complete the passkey request. Please try again.";
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

/** A 401 from a route that needs a session: the access cookie expired or the session ended. */
function signedOut(error) {
  return error instanceof PasskeyRequestError && error.status === 401;
}

/** Renew the access cookie from the refresh cookie (the library's refresh route). */
async function renewSession(url) {
  try {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    });
    return response.ok;
  } catch {
    return false;
  }
}

// -- sign in: a button, and passkey autofill in the login field -----------------

function setUpSignIn(box) {
  if (!isSupported()) return;
  const button = box.querySelector("[data-passkey-button]");
  const status = box.querySelector("[data-passkey-status]");
  const messages = JSON.parse(box.dataset.messages);
  const target = box.dataset.next || "/account"; // a local path: the server checked it
  box.hidden = false;

  // Conditional UI: the browser offers passkeys in the login field's
  // autofill (autocomplete="username webauthn") and this waits until one is
  // chosen (null when the browser cannot). A click on the button replaces
  // it; it starts again afterwards.
  async function offerAutofill() {
    try {
      if (await signInWithPasskey({ mediation: "conditional" })) window.location.assign(target);
    } catch (error) {
      const message = explain(error, messages);
      if (message) show(status, message, "error");
    }
  }

  button.addEventListener("click", async () => {
    button.disabled = true;
    show(status, "Waiting for your passkey…");
    try {
      await signInWithPasskey(); // the session cookies come with the answer
      show(status, "Signed in. Opening your account…");
      window.location.assign(target);
    } catch (error) {
      show(status, explain(error, messages) || "Nothing was changed.", "error");
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
  const messages = JSON.parse(box.dataset.messages);
  // The new passkey is named after this device ("Chrome on Linux"); rename it later.
  const label = box.dataset.label;
  const register = () => registerPasskey({ buildBody: (credential) => ({ ...credential, label }) });
  button.hidden = false;
  button.addEventListener("click", async () => {
    button.disabled = true;
    show(status, "Follow your browser's steps to create the passkey…");
    try {
      try {
        await register();
      } catch (error) {
        // Idle past the access cookie's 15 minutes: renew it once and go on.
        if (!signedOut(error) || !(await renewSession(box.dataset.refresh))) throw error;
        await register();
      }
      show(status, "Passkey added.");
      window.location.assign("/account?notice=passkey_added#passkeys");
    } catch (error) {
      if (signedOut(error)) {
        window.location.assign("/account"); // the session is over: the page says why
        return;
      }
      show(status, explain(error, messages) || "Nothing was changed.", "error");
      button.disabled = false;
    }
  });
}

// -- session renewal: the access cookie expired, the refresh cookie may not ------

async function renew(main) {
  const next = main.dataset.next || "/account";
  if (await renewSession(main.dataset.refresh)) {
    window.location.replace(next);
  } else {
    window.location.replace(`/signin?notice=expired&next=${encodeURIComponent(next)}`);
  }
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
