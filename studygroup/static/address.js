// The new-group form: while the organizer types the group's name, suggest its address
// (romanised on the server: 渋谷Python勉強会 -> shibuya-python-benkyokai). An address the
// organizer typed is never replaced. Without JavaScript, an empty address is made on saving.
for (const form of document.querySelectorAll("form[data-address-from]")) {
  const name = form.querySelector("input[name=name]");
  const address = form.querySelector("input[name=slug]");
  let suggested = address.value;
  let timer;
  let asked = 0;
  name.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      if (address.value !== suggested || !name.value.trim()) return;
      const ask = ++asked;
      const url = `${form.dataset.addressFrom}?name=${encodeURIComponent(name.value)}`;
      try {
        const response = await fetch(url, { headers: { Accept: "application/json" } });
        if (!response.ok) return;
        const { address: slug } = await response.json();
        // A later keystroke asked again, or the organizer typed an address meanwhile.
        if (ask !== asked || address.value !== suggested) return;
        address.value = suggested = slug;
      } catch {
        // Offline or the server is away: the address is made on saving instead.
      }
    }, 400);
  });
}
