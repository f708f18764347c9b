"use strict";
// The add and change forms' live preview: as the user edits, the whole form is posted to the
// preview view (admin_preview.py), which answers with the next five runs or the errors of the
// schedule's fields; the runs replace the "next five runs" field, the errors are shown beside
// the fields they name.
{
  const DELAY_MS = 300; // typing pauses this long before a request
  let timer = null;
  let sent = 0; // the latest request's number: older answers arriving late are dropped

  const config = () => JSON.parse(document.getElementById("redbeat-preview-config").textContent);
  const target = () => document.querySelector(".field-upcoming_runs .readonly");

  const clearErrors = (form) => {
    for (const list of form.querySelectorAll(".redbeat-live-errors")) list.remove();
  };

  // Where Django puts a field's own errors: before the box of its label and widget (Django 5),
  // else first in the field's box or row (Django 4.2).
  const placeError = (form, field, list) => {
    const widget = form.querySelector("#id_" + field) || form.querySelector("#id_" + field + "_0");
    if (!widget) return;
    const box = widget.closest(".flex-container");
    if (box) box.before(list);
    else (widget.closest(".fieldBox") || widget.closest(".form-row")).prepend(list);
  };

  const showErrors = (form, errors) => {
    const lines = [];
    for (const [field, messages] of Object.entries(errors)) {
      const list = document.createElement("ul");
      list.className = "errorlist redbeat-live-errors";
      list.dataset.field = field;
      for (const message of messages) {
        const item = document.createElement("li");
        item.textContent = message;
        list.append(item);
        lines.push(field + ": " + message);
      }
      placeError(form, field, list);
    }
    const box = target();
    box.replaceChildren(...lines.map((line) => {
      const div = document.createElement("div");
      div.className = "redbeat-preview-error";
      div.textContent = line;
      return div;
    }));
  };

  const showRuns = (answer) => {
    const rows = answer.runs.map((run) => {
      const div = document.createElement("div");
      div.textContent = run;
      return div;
    });
    if (!rows.length) rows.push(document.createTextNode(answer.note));
    target().replaceChildren(...rows);
  };

  // data-redbeat-preview is "pending" from an edit until the answer for the form as it now is
  // has been shown ("shown"), or refused ("failed"): what the browser tests wait on.
  const refresh = async (form) => {
    const { url, object_id } = config();
    const data = new FormData(form);
    data.set("redbeat_object_id", object_id);
    const number = ++sent;
    form.dataset.redbeatPreview = "pending";
    const response = await fetch(url, { method: "POST", body: data, credentials: "same-origin" });
    const answer = response.ok ? await response.json() : null;
    // the form changed since this was sent (a newer request, or one waiting for the pause)
    if (number !== sent || timer !== null) return;
    if (!answer) {
      form.dataset.redbeatPreview = "failed";
      return;
    }
    clearErrors(form);
    if (answer.errors) showErrors(form, answer.errors);
    else showRuns(answer);
    form.dataset.redbeatPreview = "shown";
  };

  const schedule = (form) => {
    clearTimeout(timer);
    form.dataset.redbeatPreview = "pending";
    timer = setTimeout(() => {
      timer = null;
      refresh(form);
    }, DELAY_MS);
  };

  window.addEventListener("load", () => {
    const form = document.getElementById("periodictask_form");
    if (!form || !target()) return;
    form.addEventListener("input", () => schedule(form));
    form.addEventListener("change", () => schedule(form));
    refresh(form);
  });
}
