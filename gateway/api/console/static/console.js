// Lianxin console: the only script. A bulk replay is sent in the background so the page
// stays usable and its cancel button can be pressed while the replay runs.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const replay = document.getElementById("replay-form");
  const cancel = document.getElementById("cancel-form");
  const progress = document.getElementById("progress");
  if (!replay) return;
  replay.addEventListener("submit", async (event) => {
    event.preventDefault();
    replay.querySelector("button").disabled = true;
    if (progress) progress.hidden = false;
    const response = await fetch(replay.action, {
      method: "POST", body: new URLSearchParams(new FormData(replay)), credentials: "same-origin",
    });
    document.open();
    document.write(await response.text());
    document.close();
  });
  if (cancel) {
    cancel.addEventListener("submit", async (event) => {
      if (!progress || progress.hidden) return;  // nothing of ours running: a normal post
      event.preventDefault();
      await fetch(cancel.action, {
        method: "POST", body: new URLSearchParams(new FormData(cancel)), credentials: "same-origin",
      });
      progress.textContent = "已请求取消 Cancel requested: stopping after the current batch…";
    });
  }
});
