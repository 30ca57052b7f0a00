// Progressive enhancement only: every page works without this file. It reveals copy buttons
// (<button data-copy="#selector" hidden>) and copies the target's text to the clipboard.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("button[data-copy]")) {
    const target = document.querySelector(button.dataset.copy);
    if (!target || !navigator.clipboard) continue;
    button.hidden = false;
    button.addEventListener("click", async () => {
      const label = button.textContent;
      try {
        await navigator.clipboard.writeText(target.innerText.trim());
        button.textContent = "Copied";
      } catch (err) {
        button.textContent = "Copy failed: select the text instead";
      }
      setTimeout(() => { button.textContent = label; }, 2000);
    });
  }
});
