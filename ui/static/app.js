// Clicking a [n] badge shows that answer's sources and brings source n into view.
// Delegated on the document: Gradio re-renders the chat and the panel on every update.
// The badge's href carries turn and number: the chat's sanitiser strips data-* attributes.
document.addEventListener("click", (event) => {
  const badge = event.target.closest && event.target.closest("a.rag-cite");
  const m = badge && /#rag-src-(\d+)-(\d+)$/.exec(badge.getAttribute("href") || "");
  if (!m) return;
  event.preventDefault();
  event.stopPropagation();
  const [, turn, n] = m;
  const tab = document.getElementById("rag-sources-tab-button");
  const switching = tab && tab.getAttribute("aria-selected") !== "true";
  if (switching) tab.click();
  // After a tab switch the panel is shown on the next frame; select once it is there.
  setTimeout(() => {
    document.querySelectorAll(".rag-turn").forEach((s) => s.classList.toggle("active", s.dataset.turn === turn));
    const entry = document.getElementById(`rag-src-${turn}-${n}`);
    if (!entry) return;
    document.querySelectorAll(".rag-src.rag-selected").forEach((e) => e.classList.remove("rag-selected"));
    entry.classList.add("rag-selected");
    entry.scrollIntoView({ behavior: "smooth", block: "nearest" });
  }, switching ? 80 : 0);
}, true);

// "Copy message" on an answer copies what a reader needs: the text with its [n] markers and
// the numbered sources, not the HTML the chat renders (Gradio copies the raw content).
document.addEventListener("click", (event) => {
  const button = event.target.closest && event.target.closest('#rag-chat button[aria-label="Copy message"]');
  if (!button) return;
  // Gradio puts a message's buttons right after the message row.
  const row = button.closest('[class*="message-buttons"]')?.previousElementSibling;
  const answer = row && row.querySelector(".rag-answer");
  if (!answer) return;
  event.preventDefault();
  event.stopPropagation();
  const clone = answer.cloneNode(true);
  let turn = null;
  clone.querySelectorAll("a.rag-cite").forEach((a) => {
    const m = /#rag-src-(\d+)-(\d+)$/.exec(a.getAttribute("href") || "");
    if (m) turn = m[1];
    a.replaceWith(m ? `[${m[2]}]` : a.textContent);
  });
  let text = clone.textContent.trim();
  const section = turn === null ? null : document.querySelector(`.rag-turn[data-turn="${turn}"]`);
  if (section) {
    const lines = Array.from(section.querySelectorAll(".rag-src")).map((s) => {
      const quote = (s.querySelector("mark") || s.querySelector(".rag-text")).textContent.trim();
      return `[${s.dataset.n}] ${s.querySelector(".rag-loc").textContent} — “${quote}”`;
    });
    if (lines.length) text += "\n\nSources:\n" + lines.join("\n");
  }
  navigator.clipboard.writeText(text);
}, true);
