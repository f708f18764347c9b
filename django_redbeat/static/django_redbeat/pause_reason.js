"use strict";
// The reason for a pause is asked for only while the task is disabled ("enabled" unticked).
{
  window.addEventListener("load", () => {
    const enabled = document.getElementById("id_enabled");
    const reason = document.getElementById("id_paused_reason");
    if (!enabled || !reason) {
      return;
    }
    const row = reason.closest(".form-row") || reason.parentElement;
    const show = () => { row.hidden = enabled.checked; };
    show();
    enabled.addEventListener("change", show);
  });
}
