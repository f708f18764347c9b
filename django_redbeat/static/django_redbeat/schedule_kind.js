"use strict";
// Shows the fieldsets of the selected schedule kind only (each carries a redbeat-kind-* class).
{
  const show = (select) => {
    for (const fieldset of document.querySelectorAll("fieldset[class*='redbeat-kind-']")) {
      fieldset.hidden = !fieldset.classList.contains("redbeat-kind-" + select.value);
    }
  };
  window.addEventListener("load", () => {
    const select = document.getElementById("id_kind");
    if (select) {
      show(select);
      select.addEventListener("change", () => show(select));
    }
  });
}
