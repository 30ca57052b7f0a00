// The forms of the server-rendered pages: each <form data-auth-endpoint> posts its fields as JSON
// to the auth API (same origin, so the browser sends the session cookie and a trusted Origin),
// shows the API's error message on failure and goes to the home page on success.
"use strict";

async function submitAuthForm(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const error = form.querySelector("[data-auth-error]");
  const button = form.querySelector("button[type=submit]");
  error.textContent = "";
  button.disabled = true;
  try {
    const response = await fetch(form.dataset.authEndpoint, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(Object.fromEntries(new FormData(form))),
    });
    if (response.ok) {
      window.location.assign("/");
      return;
    }
    const body = await response.json().catch(() => ({}));
    error.textContent = body.message || `Request failed (${response.status})`;
  } catch (err) {
    error.textContent = "The server could not be reached. Try again.";
  }
  button.disabled = false;
}

document.addEventListener("DOMContentLoaded", () => {
  for (const form of document.querySelectorAll("form[data-auth-endpoint]")) {
    form.addEventListener("submit", submitAuthForm);
  }
});
