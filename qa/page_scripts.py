"""The chat page's stylesheet and scripts: static text for the browser, kept apart from the HTML
the page is built of (``qa.render``)."""

from __future__ import annotations

CSS = """
#article { position: relative; max-height: 72vh; overflow-y: auto; line-height: 1.55; padding-right: 0.5em; }
#article p { white-space: pre-line; margin: 0 0 0.9em; }
/* Dark text on the yellow in light and dark mode alike: #1b1b1b on #ffe58a is 15:1 (WCAG asks 4.5). */
#article mark.cited, .qa-reply mark { background: #ffe58a; color: #1b1b1b; }
#article mark.cited strong, .qa-reply mark strong { color: inherit; }
/* The closest sentence of an abstention: outlined, in the page's own text colour (it was #1b1b1b on
   the dark page, 1.1:1). */
#article mark.closest { background: none; color: inherit; outline: 2px dashed #c9a400; }
.qa-reply blockquote { margin: 0.4em 0; padding-left: 0.8em; border-left: 3px solid #ccc; }
/* Every text 4.5:1 or more in both schemes (tests/test_ui.py measures what is on screen): secondary
   text is a colour, not a faded opacity (3.6:1 in light mode). */
#chat .message-wrap .prose.chatbot.md { opacity: 1; }  /* Gradio fades every message to 0.8 */
.qa-muted { font-size: 0.9em; color: #55555e; }
.dark .qa-muted { color: #b4b4bc; }
textarea::placeholder, input::placeholder { color: #62626c !important; opacity: 1; }
.dark textarea::placeholder, .dark input::placeholder { color: #a1a1aa !important; }
footer, footer a, footer button, footer .divider, #upload .or { color: var(--body-text-color) !important; }
/* White on Gradio's orange was 3.6:1; on these 5.2:1 and more. */
button.primary { background: #c2410c !important; border-color: #c2410c !important; color: #fff !important; }
button.primary:hover { background: #9a3412 !important; }
button.stop { background: #b91c1c !important; border-color: #b91c1c !important; color: #fff !important; }
.qa-copy-answer { margin-left: 0.6em; font-size: 0.8em; padding: 0 0.5em; border: 1px solid currentColor;
  border-radius: 4px; background: none; color: inherit; cursor: pointer; }
.qa-typing { display: inline-flex; gap: 4px; padding: 4px 0; }
.qa-typing span { width: 7px; height: 7px; border-radius: 50%; background: currentColor; opacity: 0.3;
  animation: qa-typing 1.2s infinite ease-in-out; }
.qa-typing span:nth-child(2) { animation-delay: 0.2s; } .qa-typing span:nth-child(3) { animation-delay: 0.4s; }
@keyframes qa-typing { 0%, 80%, 100% { opacity: 0.3; } 40% { opacity: 1; } }
/* The article's name ends before the dropdown's caret instead of running under it. */
#article-choice input { padding-right: 2.2em; text-overflow: ellipsis; }
/* A phone: the chat leaves room for the question box and the Ask button below it. */
.qa-jump { display: none; font-size: 0.9em; }
@media (max-width: 640px) { #chat { height: 46vh !important; } #article { max-height: 60vh; } .qa-jump { display: block; } }
/* The welcome says where the article is: on the right, or below the chat on a phone. */
.qa-narrow { display: none; }
@media (max-width: 640px) { .qa-wide { display: none; } .qa-narrow { display: inline; } }
/* A phone: the chat's bin button takes its own line above the messages instead of floating over
   them (it sat over the first message's corner, and over every message scrolled under it). */
@media (max-width: 640px) {
  #chat .top-panel { position: static; align-self: flex-end; margin-left: auto; }
  #chat .bubble-wrap { height: auto; flex: 1 1 0; min-height: 0; }
}
/* A new upload or paste begun: the last one's outcome is hidden until the status line changes. */
#status.qa-stale { visibility: hidden; }
"""
# Chat messages are HTML; what a user copies, and what a screen reader announces, is their text.
# Gradio's copy button writes the message's source and labels it with the same: both are turned
# into plain text here.
PLAIN_TEXT_SCRIPT = """<script>
(() => {
  const plain = (markup) => {
    const doc = new DOMParser().parseFromString(markup, 'text/html');
    doc.querySelectorAll('.qa-jump, .qa-copy-answer, .qa-why').forEach((element) => element.remove());  // the page's own controls
    doc.querySelectorAll('p, blockquote, li, summary, div').forEach((element) => element.append('\\n'));
    return doc.body.textContent.replace(/[ \\t]+\\n/g, '\\n').replace(/\\n{3,}/g, '\\n\\n').trim();
  };
  if (navigator.clipboard && navigator.clipboard.writeText) {
    const write = navigator.clipboard.writeText.bind(navigator.clipboard);
    navigator.clipboard.writeText = (text) => write(/<[a-z]/i.test(text) ? plain(text) : text);
  }
  // Each label is rewritten once: its plain text may still hold a "<" the user typed.
  const relabel = () => document.querySelectorAll('#chat [aria-label]').forEach((element) => {
    const label = element.getAttribute('aria-label');
    if (label === element.dataset.plainLabel || !/<[a-z]/i.test(label)) return;
    element.dataset.plainLabel = plain(label);
    element.setAttribute('aria-label', element.dataset.plainLabel);
  });
  // "Copy answer" beside each answer, next to the message's own copy button: the span alone.
  const copyButtons = () => document.querySelectorAll('#chat .qa-reply .qa-answer').forEach((answer) => {
    if (answer.nextElementSibling && answer.nextElementSibling.classList.contains('qa-copy-answer')) return;
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'qa-copy-answer';
    button.textContent = 'Copy answer';
    button.addEventListener('click', () => {
      navigator.clipboard.writeText(answer.textContent);
      button.textContent = 'Copied';
      setTimeout(() => { button.textContent = 'Copy answer'; }, 1500);
    });
    answer.after(button);
  });
  new MutationObserver(() => { relabel(); copyButtons(); }).observe(document.documentElement,
    {subtree: true, childList: true, attributes: true, attributeFilter: ['aria-label']});
})();
</script>"""
# After each answer, scroll the article panel (not the page) so the cited sentence is in view.
# requestAnimationFrame: the panel's new HTML is in the DOM by the next frame.
SCROLL_TO_CITATION = """() => requestAnimationFrame(() => {
    const panel = document.querySelector('#article');
    const cited = panel && panel.querySelector('mark.cited');
    if (cited) {
        panel.scrollTo({top: Math.max(cited.offsetTop - panel.clientHeight / 3, 0), behavior: 'smooth'});
    }
})"""
# Then the next queued question, if any, is sent.
AFTER_ANSWER = "() => { if (window.qaAnswered) window.qaAnswered(); (" + SCROLL_TO_CITATION + ")(); }"
# Questions asked while one is being answered wait their turn in the page (the question box, the
# Ask button and the examples alike), each shown as queued, and are sent one by one after it.
QUESTION_QUEUE_SCRIPT = """<script>
(() => {
  let busy = false;
  const queued = [];
  const box = () => document.querySelector('#question textarea');
  const show = () => {
    let note = document.querySelector('#queued');
    if (!note && box()) {
      note = document.createElement('p');
      note.id = 'queued';
      note.className = 'qa-muted';
      box().closest('#question').after(note);
    }
    if (note) note.textContent = queued.length ? 'Queued: ' + queued.join(' · ') : '';
  };
  const wait = (text, event) => {
    event.preventDefault();
    event.stopImmediatePropagation();
    if (text.trim()) queued.push(text.trim());
    show();
  };
  const sending = (text) => { if (text.trim()) busy = true; };
  document.addEventListener('keydown', (event) => {
    if (event.key !== 'Enter' || event.shiftKey || event.target !== box()) return;
    if (busy) { wait(box().value, event); box().value = ''; box().dispatchEvent(new Event('input', {bubbles: true})); }
    else sending(box().value);
  }, true);
  document.addEventListener('click', (event) => {
    const sample = event.target.closest('#examples button, #examples tr, #examples .gallery-item');
    if (event.target.closest('#ask')) {
      if (busy) { wait(box().value, event); box().value = ''; box().dispatchEvent(new Event('input', {bubbles: true})); }
      else sending(box().value);
    } else if (sample) {
      if (busy) wait(sample.textContent, event); else sending(sample.textContent);
    }
  }, true);
  window.qaAnswered = () => {
    busy = false;
    const next = queued.shift();
    show();
    if (next !== undefined) {
      box().value = next;
      box().dispatchEvent(new Event('input', {bubbles: true}));
      setTimeout(() => document.querySelector('#ask').click(), 0);  // which marks the page busy again
    }
  };
})();
</script>"""

# The status line still told the previous upload's outcome (a warning) while the next file was
# uploading: it is hidden from the moment a file is chosen or a paste is sent until it changes.
STALE_STATUS_SCRIPT = """<script>
(() => {
  const stale = () => {
    const status = document.querySelector('#status');
    if (!status || !status.textContent.trim()) return;
    status.classList.add('qa-stale');
    const seen = status.innerHTML;
    const observer = new MutationObserver(() => {
      if (status.innerHTML === seen) return;
      status.classList.remove('qa-stale');
      observer.disconnect();
    });
    observer.observe(status, {subtree: true, childList: true, characterData: true});
    setTimeout(() => { status.classList.remove('qa-stale'); observer.disconnect(); }, 20000);  // the same words again
  };
  document.addEventListener('change', (event) => { if (event.target.closest('#upload')) stale(); }, true);
  document.addEventListener('drop', (event) => { if (event.target.closest('#upload')) stale(); }, true);
  document.addEventListener('click', (event) => { if (event.target.closest('#paste')) stale(); }, true);
})();
</script>"""
