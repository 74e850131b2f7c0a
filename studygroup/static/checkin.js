// Reception check-in (studygroup.checkin) on a phone. The page works without this script:
// every button is a form post. With it: search as you type, check-ins sent as JSON with the
// CSRF token, the camera scanner, and a queue in localStorage for check-ins that could not
// be sent (offline, or the server failed): they are sent again until they go through. A
// check-in is idempotent by person on the server, so a retry is never counted twice.
(() => {
  "use strict";
  const root = document.getElementById("checkin");
  if (!root) return;
  const text = root.dataset;
  const statusBox = document.getElementById("checkin-status");
  const queueNote = document.getElementById("checkin-queue");
  const searchForm = document.getElementById("checkin-search");
  const searchInput = document.getElementById("q");
  const RETRY_MS = 4000;

  // --- messages and counts ---------------------------------------------------------------

  function banner(kind, message, admitId) {
    statusBox.replaceChildren();
    const box = document.createElement(admitId ? "div" : "p");
    box.className = `checkin-banner ${kind}`;
    if (admitId) {
      const line = document.createElement("p");
      line.textContent = message;
      box.append(line);
      const button = document.createElement("button");
      button.type = "button";
      button.className = "primary";
      button.textContent = text.textAdmit;
      button.addEventListener("click", () => send({ action: "admit", id: admitId }));
      box.append(button);
    } else {
      box.textContent = message;
    }
    statusBox.append(box);
  }

  function showCounts(body) {
    document.getElementById("count-participants").textContent = body.counts_text;
    document.getElementById("count-staff").textContent = body.staff_counts_text;
  }

  // --- the queue ---------------------------------------------------------------------------

  function loadQueue() {
    try {
      const stored = JSON.parse(localStorage.getItem(text.queueKey) || "[]");
      return Array.isArray(stored) ? stored : [];
    } catch (error) {
      return [];
    }
  }

  function saveQueue(queue) {
    try {
      localStorage.setItem(text.queueKey, JSON.stringify(queue));
    } catch (error) {
      // Private mode or a full storage: the item stays in memory for this page only.
    }
    memoryQueue = queue;
    queueNote.hidden = queue.length === 0;
    queueNote.textContent = text.textWaiting.replace("{n}", String(queue.length));
  }

  let memoryQueue = loadQueue();
  let flushing = false;
  let retryTimer = null;

  // localStorage when it works; else what this page holds.
  function currentQueue() {
    const stored = loadQueue();
    return stored.length ? stored : memoryQueue;
  }

  function enqueue(payload) {
    const queue = currentQueue();
    queue.push({ payload, at: Date.now() });
    saveQueue(queue);
    scheduleRetry();
  }

  function scheduleRetry() {
    if (retryTimer === null) {
      retryTimer = window.setTimeout(() => {
        retryTimer = null;
        flush();
      }, RETRY_MS);
    }
  }

  async function flush() {
    if (flushing) return;
    flushing = true;
    try {
      let queue = currentQueue();
      while (queue.length) {
        const outcome = await post(queue[0].payload);
        if (outcome.kind === "retry") {
          scheduleRetry();
          break;
        }
        queue = queue.slice(1);
        saveQueue(queue);
        if (outcome.kind === "done") {
          const body = outcome.body;
          if (body.by_you_just_now) {
            // Our own earlier try got through and only its answer was lost: for reception
            // this is the check-in they asked for, not someone else's.
            banner("ok", `${text.textSentLater} ${text.textCheckedIn.replace("{name}", body.name)}`);
          } else {
            banner(body.outcome === "now" ? "ok" : "already", `${text.textSentLater} ${body.message}`);
          }
          showCounts(body);
        } else {
          banner("problem", outcome.error, outcome.admit);
        }
      }
      if (!queue.length) refreshResults();
    } finally {
      flushing = false;
    }
  }

  // --- sending -------------------------------------------------------------------------------

  // done: the server answered with the check-in; refused: a 4xx (retrying would not help);
  // retry: no answer, or the server failed.
  async function post(payload) {
    let response;
    try {
      response = await fetch(text.api, {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/json",
          Accept: "application/json",
          "X-CSRFToken": text.csrf,
        },
        body: JSON.stringify(payload),
      });
    } catch (error) {
      return { kind: "retry" };
    }
    if (response.status >= 500 || response.status === 429) return { kind: "retry" };
    let body = {};
    try {
      body = await response.json();
    } catch (error) {
      return response.ok ? { kind: "retry" } : { kind: "refused", error: text.textFailed };
    }
    if (response.ok) return { kind: "done", body };
    return { kind: "refused", error: body.error || body.message || text.textFailed,
             admit: body.admit };
  }

  async function send(payload) {
    const outcome = await post(payload);
    if (outcome.kind === "retry") {
      enqueue(payload);
      banner("problem", text.textQueued);
      return false;
    }
    if (outcome.kind === "done") {
      banner(outcome.body.outcome === "now" ? "ok" : "already", outcome.body.message);
      showCounts(outcome.body);
      refreshResults();
      return true;
    }
    banner("problem", outcome.error, outcome.admit);
    return false;
  }

  // Every check-in form (result buttons, the code form, "let in") goes through send().
  root.addEventListener("submit", (event) => {
    const form = event.target;
    if (!form.classList || !form.classList.contains("checkin-form")) return;
    event.preventDefault();
    const action = form.dataset.action;
    if (action === "code") {
      const input = form.querySelector("input[name=code]");
      const code = input.value.trim();
      if (!code) {
        input.focus();
        return;
      }
      send({ action, code }).then((ok) => {
        if (ok) input.value = "";
      });
    } else {
      send({ action, id: Number(form.dataset.id) });
    }
  });

  // --- search as you type --------------------------------------------------------------------

  let searchTimer = null;
  let searchCounter = 0;

  async function refreshResults() {
    const q = searchInput.value.trim();
    const mine = ++searchCounter;
    const current = document.getElementById("checkin-results");
    if (!q) {
      current.replaceChildren();
      return;
    }
    try {
      const response = await fetch(`${text.results}?q=${encodeURIComponent(q)}`,
                                   { credentials: "same-origin" });
      if (!response.ok || mine !== searchCounter) return;
      const html = await response.text();
      const holder = document.createElement("div");
      holder.innerHTML = html;
      const fresh = holder.querySelector("#checkin-results");
      if (fresh) document.getElementById("checkin-results").replaceWith(fresh);
      history.replaceState(null, "", `?q=${encodeURIComponent(q)}`);
    } catch (error) {
      // Offline: the results on screen stay; the form still posts without the script.
    }
  }

  searchInput.addEventListener("input", () => {
    window.clearTimeout(searchTimer);
    searchTimer = window.setTimeout(refreshResults, 250);
  });
  searchForm.addEventListener("submit", (event) => {
    event.preventDefault();
    refreshResults();
  });

  // --- the camera ----------------------------------------------------------------------------

  const scanButton = document.getElementById("scan-button");
  const scanner = document.getElementById("scanner");
  const video = document.getElementById("scanner-video");
  const scannerNote = document.getElementById("scanner-note");
  let stream = null;
  let lastCode = "";
  let lastAt = 0;

  function loadJsQR() {
    if (window.jsQR) return Promise.resolve(window.jsQR);
    return new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = text.jsqr;
      script.onload = () => resolve(window.jsQR);
      script.onerror = reject;
      document.head.append(script);
    });
  }

  async function makeDetector() {
    if ("BarcodeDetector" in window) {
      try {
        const formats = await window.BarcodeDetector.getSupportedFormats();
        if (formats.includes("qr_code")) {
          const detector = new window.BarcodeDetector({ formats: ["qr_code"] });
          return async () => {
            const codes = await detector.detect(video);
            return codes.length ? codes[0].rawValue : null;
          };
        }
      } catch (error) {
        // Fall through to jsQR.
      }
    }
    const jsQR = await loadJsQR();
    const canvas = document.createElement("canvas");
    const context = canvas.getContext("2d", { willReadFrequently: true });
    return async () => {
      if (!video.videoWidth) return null;
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      context.drawImage(video, 0, 0);
      const image = context.getImageData(0, 0, canvas.width, canvas.height);
      const found = jsQR(image.data, image.width, image.height, { inversionAttempts: "dontInvert" });
      return found ? found.data : null;
    };
  }

  function stopCamera() {
    if (stream) stream.getTracks().forEach((track) => track.stop());
    stream = null;
    scanner.hidden = true;
    scanButton.hidden = false;
  }

  async function startCamera() {
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        video: { facingMode: "environment" },
        audio: false,
      });
    } catch (error) {
      banner("problem", text.textNoCamera);
      return;
    }
    video.srcObject = stream;
    scanner.hidden = false;
    scanButton.hidden = true;
    scannerNote.textContent = text.textScanning;
    await video.play();
    const detect = await makeDetector();
    const tick = async () => {
      if (!stream) return;
      let code = null;
      try {
        code = await detect();
      } catch (error) {
        code = null;
      }
      // The same code stays in front of the camera for a while: send it once.
      if (code && (code !== lastCode || Date.now() - lastAt > 5000)) {
        lastCode = code;
        lastAt = Date.now();
        send({ action: "code", code: code.trim().slice(0, 20) });
      }
      window.setTimeout(tick, 250);
    };
    tick();
  }

  if (navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
    scanButton.hidden = false;
    scanButton.addEventListener("click", startCamera);
    document.getElementById("scan-stop").addEventListener("click", stopCamera);
  }

  // --- start ---------------------------------------------------------------------------------

  saveQueue(memoryQueue);
  window.addEventListener("online", flush);
  if (memoryQueue.length) flush();
})();
