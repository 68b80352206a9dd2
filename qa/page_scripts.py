"""The chat page's stylesheet and scripts: static text for the browser, kept apart from the HTML
the page is built of (``qa.render``)."""

from __future__ import annotations

CSS = """
#article { position: relative; max-height: 72vh; overflow-y: auto; line-height: 1.55; padding-right: 0.5em; }
#article p { white-space: pre-line; margin: 0 0 0.9em; }
/* Dark text on the yellow in light and dark mode alike: #1b1b1b on #ffe58a is 15:1 (WCAG asks 4.5). */
#article mark.cited, .qa-reply mark { background: #ffe58a; color: #1b1b1b; }
#article mark.cited strong, .qa-reply mark strong { color: inherit; }
#article mark.closest { background: none; outline: 2px dashed #c9a400; }
.qa-reply blockquote { margin: 0.4em 0; padding-left: 0.8em; border-left: 3px solid #ccc; }
.qa-muted { opacity: 0.7; font-size: 0.9em; }
.qa-copy-answer { margin-left: 0.6em; font-size: 0.8em; padding: 0 0.5em; border: 1px solid currentColor;
  border-radius: 4px; opacity: 0.7; background: none; color: inherit; cursor: pointer; }
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
