// Asks before a form with data-confirm is sent (cancel a session, remove a member, leave).
// Without JavaScript the form is sent as it is; the server still checks every rule.
document.addEventListener("submit", (event) => {
  const form = event.target;
  const question = form.dataset ? form.dataset.confirm : null;
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});
