// The yearly list: each "card sent" box saves as it is ticked, and the count follows. Without
// JavaScript the boxes are saved with the form's button. The print view's "Print" button.
const form = document.querySelector("form[data-yearly]");
if (form) {
  const count = form.querySelector("[data-sent-count]");
  const save = form.querySelector("[data-save]");
  if (save) save.hidden = true;
  for (const box of form.querySelectorAll("input[name=sent]")) {
    box.addEventListener("change", async () => {
      const data = new FormData();
      data.append("csrf_token", form.elements.csrf_token.value);
      data.append("person", box.value);
      if (box.checked) data.append("sent", box.value);
      try {
        const response = await fetch(form.action, {
          method: "POST",
          body: data,
          headers: { Accept: "application/json" },
        });
        if (!response.ok) throw new Error(response.status);
        count.textContent = (await response.json()).text;
      } catch {
        box.checked = !box.checked;  // not saved: show what is stored, and the button
        if (save) save.hidden = false;
      }
    });
  }
}
for (const button of document.querySelectorAll("button[data-print]")) {
  button.hidden = false;
  button.addEventListener("click", () => window.print());
}
