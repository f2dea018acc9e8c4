// packshot review: keyboard shortcuts, decisions over fetch (with the CSRF token), zoom, loupe,
// overlay toggles and the box prompt drawn on the source photo. No build step, no dependencies.
(function () {
  "use strict";
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const whoInput = document.getElementById("who");
  const saved = localStorage.getItem("packshot-reviewer");
  if (saved && whoInput) whoInput.value = saved;
  function who() { return (whoInput && whoInput.value.trim()) || document.body.dataset.defaultWho || "reviewer"; }
  function syncWho() {
    document.querySelectorAll(".who-field").forEach((f) => { f.value = who(); });
    localStorage.setItem("packshot-reviewer", who());
  }
  if (whoInput) whoInput.addEventListener("change", syncWho);
  syncWho();

  function toast(text, isError) {
    const t = document.getElementById("toast");
    t.textContent = text; t.className = "show" + (isError ? " error" : "");
    clearTimeout(toast.timer); toast.timer = setTimeout(() => { t.className = ""; }, 2500);
  }

  async function decide(frame, fields) {
    const body = new URLSearchParams(Object.assign({ who: who(), csrf_token: csrf }, fields));
    const res = await fetch("/decide/" + frame, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRF-Token": csrf },
    });
    const data = await res.json().catch(() => ({ error: "HTTP " + res.status }));
    if (!res.ok) { toast(data.error || ("HTTP " + res.status), true); throw new Error(data.error); }
    toast(frame + ": " + data.decision + " by " + data.who);
    return data;
  }

  function typing(e) {
    const el = e.target;
    return el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT" || el.isContentEditable);
  }

  // ------------------------------------------------------------------ queue page
  const queue = document.getElementById("queue");
  if (queue) {
    const cards = Array.from(queue.querySelectorAll(".card"));
    let index = 0;
    const stored = sessionStorage.getItem("packshot-selected");
    if (stored) { const i = cards.findIndex((c) => c.dataset.frame === stored); if (i >= 0) index = i; }
    function select(i) {
      if (!cards.length) return;
      index = Math.max(0, Math.min(cards.length - 1, i));
      cards.forEach((c, j) => c.classList.toggle("selected", j === index));
      cards[index].scrollIntoView({ block: "nearest" });
      sessionStorage.setItem("packshot-selected", cards[index].dataset.frame);
    }
    select(index);
    cards.forEach((c, i) => c.addEventListener("mouseenter", () => select(i)));
    function mark(card, data) {
      card.classList.remove("d-approved", "d-rejected", "d-rerender");
      card.classList.add("d-" + data.decision);
      card.querySelector('[data-role="decision"]').textContent = data.decision + " by " + data.who;
    }
    const dialog = document.getElementById("reject-dialog");
    const comment = document.getElementById("reject-comment");
    let rejecting = null;
    document.getElementById("reject-cancel").addEventListener("click", () => dialog.close());
    comment.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); document.getElementById("reject-form").requestSubmit(); }
    });
    document.getElementById("reject-form").addEventListener("submit", async (e) => {
      e.preventDefault();
      if (!rejecting || !comment.value.trim()) return;
      const card = rejecting;
      const data = await decide(card.dataset.frame, { decision: "reject", comment: comment.value.trim() });
      mark(card, data); dialog.close(); select(index + 1);
    });
    document.addEventListener("keydown", async (e) => {
      if (typing(e) || e.ctrlKey || e.metaKey || e.altKey || dialog.open) return;
      const card = cards[index];
      if (e.key === "j") {
        e.preventDefault();
        const next = document.querySelector('a[rel="next"]');
        if (index === cards.length - 1 && next) { sessionStorage.removeItem("packshot-selected"); window.location = next.href; }
        else select(index + 1);
      } else if (e.key === "k") {
        e.preventDefault();
        const prev = document.querySelector('a[rel="prev"]');
        if (index === 0 && prev) { sessionStorage.removeItem("packshot-selected"); window.location = prev.href; }
        else select(index - 1);
      }
      else if (e.key === "a" && card) { e.preventDefault(); mark(card, await decide(card.dataset.frame, { decision: "approve" })); select(index + 1); }
      else if (e.key === "r" && card) {
        e.preventDefault(); rejecting = card; comment.value = "";
        document.getElementById("reject-frame").textContent = card.dataset.frame;
        dialog.showModal(); comment.focus();
      } else if (e.key === "Enter" && card) { window.location = card.querySelector("a").href; }
    });
    const bulk = document.getElementById("bulk-form");
    if (bulk) bulk.addEventListener("submit", (e) => { syncWho(); if (!confirm("Approve every undecided frame that passed QA?")) e.preventDefault(); });
  }

  // ------------------------------------------------------------------ frame page
  const page = document.getElementById("frame-page");
  if (page) {
    const frame = page.dataset.frame;
    const qs = page.dataset.filterQs || "";
    function go(target) { if (target) window.location = "/frame/" + target + qs; }
    function shown(data) {
      document.getElementById("current-decision").textContent = data.decision + " by " + data.who + " at " + data.at;
    }
    async function submitForm(form) {
      syncWho();
      const fields = Object.fromEntries(new FormData(form).entries());
      const data = await decide(frame, fields);
      shown(data);
      return data;
    }
    document.querySelectorAll("form.decide").forEach((form) => form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const data = await submitForm(form);
      if (data.decision === "approved" && page.dataset.next) setTimeout(() => go(page.dataset.next), 300);
    }));
    const rejectComment = document.getElementById("reject-comment");
    rejectComment.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); document.getElementById("reject-form-page").requestSubmit(); }
      if (e.key === "Escape") rejectComment.blur();
    });
    document.addEventListener("keydown", (e) => {
      if (typing(e) || e.ctrlKey || e.metaKey || e.altKey) return;
      if (e.key === "j") go(page.dataset.next);
      else if (e.key === "k") go(page.dataset.prev);
      else if (e.key === "a") { e.preventDefault(); document.getElementById("approve-form").requestSubmit(); }
      else if (e.key === "r") { e.preventDefault(); rejectComment.focus(); }
    });

    // overlays: loaded on first use
    document.querySelectorAll("[data-layer]").forEach((box) => box.addEventListener("change", () => {
      const layer = document.getElementById(box.dataset.layer);
      if (layer.dataset.src && !layer.getAttribute("src")) layer.setAttribute("src", layer.dataset.src);
      layer.toggleAttribute("hidden", !box.checked);  // an <svg> has no .hidden property
    }));

    // zoom
    const stack = document.getElementById("stack");
    document.querySelectorAll("[data-zoom]").forEach((b) => b.addEventListener("click", () => {
      stack.style.width = (100 * Number(b.dataset.zoom)) + "%";
    }));

    // loupe: 3x of the frame under the pointer
    const viewport = document.getElementById("viewport");
    const loupe = document.getElementById("loupe");
    const frameImg = document.getElementById("frame-img");
    const loupeToggle = document.getElementById("loupe-toggle");
    viewport.addEventListener("mousemove", (e) => {
      if (!loupeToggle.checked) { loupe.hidden = true; return; }
      const r = frameImg.getBoundingClientRect();
      const x = e.clientX - r.left, y = e.clientY - r.top;
      if (x < 0 || y < 0 || x > r.width || y > r.height) { loupe.hidden = true; return; }
      const z = 3, size = 180;
      loupe.hidden = false;
      loupe.style.backgroundImage = "url('" + frameImg.src + "')";
      loupe.style.backgroundSize = (r.width * z) + "px " + (r.height * z) + "px";
      loupe.style.backgroundPosition = (-x * z + size / 2) + "px " + (-y * z + size / 2) + "px";
      const v = viewport.getBoundingClientRect();
      loupe.style.left = (e.clientX - v.left + viewport.scrollLeft - size / 2) + "px";
      loupe.style.top = (e.clientY - v.top + viewport.scrollTop - size / 2) + "px";
    });
    viewport.addEventListener("mouseleave", () => { loupe.hidden = true; });

    // re-render: a new seed, a box drawn on the photo (in photo pixels)
    document.getElementById("new-seed").addEventListener("click", () => {
      document.getElementById("seed").value = Math.floor(Math.random() * 4294967295);
    });
    const boxField = document.getElementById("box");
    const rect = document.getElementById("box-rect");
    document.getElementById("clear-box").addEventListener("click", () => { boxField.value = ""; if (rect) rect.hidden = true; });
    const wrap = document.getElementById("photo-wrap");
    if (wrap) {
      const img = document.getElementById("photo-img");
      let photoSize = null, start = null;
      fetch(wrap.dataset.sizeUrl, { credentials: "same-origin" }).then((r) => r.json()).then((s) => { photoSize = s; });
      function point(e) {
        const r = img.getBoundingClientRect();
        return { x: Math.max(0, Math.min(r.width, e.clientX - r.left)), y: Math.max(0, Math.min(r.height, e.clientY - r.top)), r: r };
      }
      function draw(a, b) {
        rect.hidden = false;
        rect.style.left = Math.min(a.x, b.x) + "px"; rect.style.top = Math.min(a.y, b.y) + "px";
        rect.style.width = Math.abs(a.x - b.x) + "px"; rect.style.height = Math.abs(a.y - b.y) + "px";
      }
      wrap.addEventListener("mousedown", (e) => { e.preventDefault(); start = point(e); draw(start, start); });
      window.addEventListener("mousemove", (e) => { if (start) draw(start, point(e)); });
      window.addEventListener("mouseup", (e) => {
        if (!start) return;
        const end = point(e), r = end.r;
        const sx = (photoSize ? photoSize.width : img.naturalWidth) / r.width;
        const sy = (photoSize ? photoSize.height : img.naturalHeight) / r.height;
        const x0 = Math.round(Math.min(start.x, end.x) * sx), x1 = Math.round(Math.max(start.x, end.x) * sx);
        const y0 = Math.round(Math.min(start.y, end.y) * sy), y1 = Math.round(Math.max(start.y, end.y) * sy);
        start = null;
        if (x1 - x0 < 4 || y1 - y0 < 4) { rect.hidden = true; return; }
        boxField.value = [x0, y0, x1, y1].join(",");
      });
    }
  }
})();
