// The labelling page: fetch an item, play it, draw its waveform, send the answer, show feedback.
// Plain JavaScript, no build step. The page knows nothing about an item until the API hands it
// one (an opaque id and an audio URL); the experts' label arrives only in the answer's response.
(() => {
  "use strict";

  const config = JSON.parse(document.getElementById("trial-config").textContent);
  const csrfToken = document.querySelector('meta[name="csrf-token"]').content;
  const $ = (id) => document.getElementById(id);
  const trial = $("trial");
  const audio = $("audio");
  const canvas = $("waveform");
  const playButton = $("play");
  const nextButton = $("next");
  const feedback = $("feedback");
  const statusLine = $("status");
  const replayInfo = $("replay-info");
  const warmupBanner = $("warmup-banner");
  const choiceButtons = Array.from(document.querySelectorAll(".choice"));

  // "loading": waiting for an item; "ready": item shown, not answered; "sending": answer in flight;
  // "answered": feedback shown, waiting for Next; "stopped": an error the page cannot recover from.
  let phase = "loading";
  let item = null;
  let firstPlayAt = null; // performance.now() of the first play: response time counts from here
  let replays = 0;
  let peaks = null; // per-pixel [min, max] pairs of the decoded audio
  let progress = { done: 0, total: 0 };

  trial.tabIndex = -1; // focus lands here, not on a button, so Space/Enter act once

  function setStatus(text, isError = false) {
    statusLine.textContent = text;
    statusLine.classList.toggle("error", isError);
  }

  function showProgress() {
    $("progress-text").textContent = `${progress.done} of ${progress.total} done (your answers, warm-up included)`;
    const share = progress.total ? (100 * progress.done) / progress.total : 0;
    $("progress-bar").style.width = `${share}%`;
  }

  function setChoicesEnabled(enabled) {
    choiceButtons.forEach((button) => {
      button.disabled = !enabled;
    });
  }

  function replaysLeft() {
    return config.replayLimit === null ? Infinity : config.replayLimit - replays;
  }

  function showReplayInfo() {
    if (firstPlayAt === null) {
      replayInfo.textContent = "";
    } else if (config.replayLimit === null) {
      replayInfo.textContent = replays ? `replayed ${replays}×` : "";
    } else {
      const left = replaysLeft();
      replayInfo.textContent = `${left} replay${left === 1 ? "" : "s"} left`;
    }
    playButton.firstChild.textContent = firstPlayAt === null ? "Play " : "Replay ";
    playButton.disabled = phase === "loading" || (phase === "ready" && firstPlayAt !== null && replaysLeft() <= 0);
  }

  async function callApi(url, body) {
    const options = { credentials: "same-origin", headers: { Accept: "application/json" } };
    if (body !== undefined) {
      options.method = "POST";
      options.headers["Content-Type"] = "application/json";
      options.headers["X-CSRFToken"] = csrfToken;
      options.body = JSON.stringify(body);
    }
    const response = await fetch(url, options);
    if (response.status === 401) {
      // Signed out in another tab, or the session expired: back to the sign-in page.
      window.location.assign(`/accounts/login/?next=${encodeURIComponent(location.pathname)}`);
    }
    let data = null;
    try {
      data = await response.json();
    } catch (error) {
      data = null;
    }
    return { status: response.status, ok: response.ok, data };
  }

  function errorText(result) {
    if (result.data && result.data.detail) return result.data.detail;
    if (result.data) return Object.entries(result.data).map(([k, v]) => `${k}: ${v}`).join("; ");
    return `The server answered ${result.status}.`;
  }

  // --- Waveform -------------------------------------------------------------------------------

  function sizeCanvas() {
    const ratio = window.devicePixelRatio || 1;
    const width = Math.max(1, Math.round(canvas.clientWidth * ratio));
    const height = Math.max(1, Math.round(canvas.clientHeight * ratio));
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
      return true;
    }
    return false;
  }

  function computePeaks(buffer, columns) {
    // (columns, 2): min and max sample over each column's span, channels averaged.
    const channels = [];
    for (let c = 0; c < buffer.numberOfChannels; c += 1) channels.push(buffer.getChannelData(c));
    const perColumn = Math.max(1, Math.floor(buffer.length / columns));
    const result = new Float32Array(columns * 2);
    for (let col = 0; col < columns; col += 1) {
      let low = 0;
      let high = 0;
      const start = col * perColumn;
      const end = Math.min(buffer.length, start + perColumn);
      for (let i = start; i < end; i += 1) {
        let value = 0;
        for (const data of channels) value += data[i];
        value /= channels.length;
        if (value < low) low = value;
        if (value > high) high = value;
      }
      result[2 * col] = low;
      result[2 * col + 1] = high;
    }
    return result;
  }

  let decodedBuffer = null;

  function drawWaveform() {
    sizeCanvas();
    const context = canvas.getContext("2d");
    const { width, height } = canvas;
    context.clearRect(0, 0, width, height);
    const middle = height / 2;
    if (!decodedBuffer) {
      context.fillStyle = "#c9d0db";
      context.fillRect(0, middle - 1, width, 2);
      return;
    }
    if (!peaks || peaks.length !== width * 2) peaks = computePeaks(decodedBuffer, width);
    let maxAbs = 1e-6;
    for (let i = 0; i < peaks.length; i += 1) maxAbs = Math.max(maxAbs, Math.abs(peaks[i]));
    const scale = (0.9 * middle) / maxAbs;
    const played = audio.duration ? audio.currentTime / audio.duration : 0;
    const playedX = Math.round(played * width);
    for (let x = 0; x < width; x += 1) {
      const top = middle - peaks[2 * x + 1] * scale;
      const bottom = middle - peaks[2 * x] * scale;
      context.fillStyle = x < playedX ? "#2f5fd0" : "#9aa7bd";
      context.fillRect(x, top, 1, Math.max(1, bottom - top));
    }
    if (firstPlayAt !== null) {
      context.fillStyle = "#b3261e";
      context.fillRect(Math.min(width - 2, playedX), 0, 2, height);
    }
  }

  function animate() {
    drawWaveform();
    if (!audio.paused && !audio.ended) requestAnimationFrame(animate);
  }

  async function loadWaveform(url) {
    delete canvas.dataset.waveform;
    decodedBuffer = null;
    peaks = null;
    drawWaveform();
    try {
      const response = await fetch(url, { credentials: "same-origin" });
      if (!response.ok) throw new Error(`audio answered ${response.status}`);
      const bytes = await response.arrayBuffer();
      // An offline context decodes without needing a user gesture or an audio device.
      const decoder = new OfflineAudioContext(1, 1, 44100);
      const buffer = await decoder.decodeAudioData(bytes);
      if (item && item.audio_url === url) {
        decodedBuffer = buffer;
        drawWaveform();
        canvas.dataset.waveform = "drawn"; // for tests and styling: the real waveform is on screen
      }
    } catch (error) {
      // The waveform is a help, not a must: the audio element can still play.
      console.warn("waveform unavailable:", error);
    }
  }

  // --- Flow -----------------------------------------------------------------------------------

  async function loadNext() {
    if (phase !== "answered" && phase !== "loading") return;
    phase = "loading";
    item = null;
    firstPlayAt = null;
    replays = 0;
    feedback.hidden = true;
    feedback.className = "feedback";
    nextButton.hidden = true;
    choiceButtons.forEach((button) => button.classList.remove("chosen", "expert"));
    setChoicesEnabled(false);
    showReplayInfo();
    setStatus("Loading the next item…");
    let result;
    try {
      result = await callApi(config.nextUrl);
    } catch (error) {
      phase = "answered"; // lets Enter / Next try again
      nextButton.hidden = false;
      setStatus("Network error while fetching the next item. Press Enter to try again.", true);
      return;
    }
    if (!result.ok) {
      phase = "stopped";
      setStatus(errorText(result), true);
      return;
    }
    progress = result.data.progress;
    showProgress();
    if (result.data.item === null) {
      setStatus("All done.");
      window.location.assign(config.finishedUrl);
      return;
    }
    item = result.data.item;
    warmupBanner.hidden = item.phase !== "warmup";
    audio.src = item.audio_url;
    audio.load();
    loadWaveform(item.audio_url);
    phase = "ready";
    showReplayInfo();
    setStatus("Press Space (or Play) to listen.");
    trial.focus({ preventScroll: true });
  }

  function startPlayback(fromSeconds) {
    audio.currentTime = fromSeconds;
    const attempt = audio.play();
    if (attempt && attempt.catch) {
      attempt.catch((error) => setStatus(`The audio could not play: ${error.message}`, true));
    }
    requestAnimationFrame(animate);
  }

  // Returns false when a replay is refused (limit reached).
  function countPlay() {
    if (phase !== "ready") return true; // after the answer, listening again costs nothing
    if (firstPlayAt === null) {
      firstPlayAt = performance.now();
      setChoicesEnabled(true);
      setStatus("Choose the emotion you hear (keys 1–" + config.classes.length + ").");
      return true;
    }
    if (replaysLeft() <= 0) {
      setStatus("No replays left for this item.", true);
      return false;
    }
    replays += 1;
    return true;
  }

  function playFromStart() {
    if (!item || phase === "loading" || phase === "sending" || phase === "stopped") return;
    if (!countPlay()) return;
    showReplayInfo();
    startPlayback(0);
  }

  function seek(event) {
    if (!item || firstPlayAt === null || !audio.duration) return;
    const rect = canvas.getBoundingClientRect();
    const share = Math.min(1, Math.max(0, (event.clientX - rect.left) / rect.width));
    if (audio.paused || audio.ended) {
      // Starting the sound again from a point counts as a replay, as pressing Replay would.
      if (!countPlay()) return;
      showReplayInfo();
      startPlayback(share * audio.duration);
    } else {
      audio.currentTime = share * audio.duration;
    }
  }

  async function answer(label) {
    if (phase !== "ready" || firstPlayAt === null) return;
    phase = "sending";
    setChoicesEnabled(false);
    const responseMs = Math.round(performance.now() - firstPlayAt);
    const chosen = choiceButtons.find((button) => button.dataset.label === label);
    chosen.classList.add("chosen");
    setStatus("Saving…");
    let result;
    try {
      result = await callApi(config.answerUrl, { item: item.id, label, response_ms: responseMs, replays });
    } catch (error) {
      phase = "ready";
      chosen.classList.remove("chosen");
      setChoicesEnabled(true);
      setStatus("Network error: your answer was not saved. Choose again to retry.", true);
      return;
    }
    if (result.status === 400) {
      phase = "ready";
      chosen.classList.remove("chosen");
      setChoicesEnabled(true);
      setStatus(errorText(result), true);
      return;
    }
    if (!result.ok) {
      // 409: closed campaign, expired reservation or an earlier answer. Move on to what is next.
      phase = "answered";
      setStatus(errorText(result), true);
      nextButton.hidden = false;
      trial.focus({ preventScroll: true });
      return;
    }
    if (result.status === 201) progress.done += 1;
    showProgress();
    phase = "answered";
    showFeedback(label, result.data);
    nextButton.hidden = false;
    showReplayInfo();
    setStatus("Press Enter (or Next) for the next item.");
    trial.focus({ preventScroll: true });
  }

  function showFeedback(label, data) {
    feedback.hidden = false;
    if (data && typeof data.expert_label === "string") {
      const expert = choiceButtons.find((button) => button.dataset.label === data.expert_label);
      if (expert) expert.classList.add("expert");
      feedback.classList.add(data.correct ? "match" : "mismatch");
      feedback.textContent = data.correct
        ? `Yes: the experts also said ${data.expert_label}.`
        : `The experts said ${data.expert_label}; you said ${label}.`;
    } else {
      feedback.textContent = `Saved: ${label}.`;
    }
  }

  // --- Wiring ---------------------------------------------------------------------------------

  playButton.addEventListener("click", () => {
    playFromStart();
    trial.focus({ preventScroll: true });
  });
  nextButton.addEventListener("click", () => loadNext());
  choiceButtons.forEach((button) => button.addEventListener("click", () => answer(button.dataset.label)));
  canvas.addEventListener("click", seek);
  audio.addEventListener("play", () => requestAnimationFrame(animate));
  audio.addEventListener("ended", drawWaveform);
  audio.addEventListener("error", () => {
    if (item) setStatus("The audio could not be loaded. Reload the page to try again.", true);
  });
  window.addEventListener("resize", () => {
    peaks = null;
    drawWaveform();
  });

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
    const target = event.target;
    if (target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.isContentEditable)) return;
    // On a focused button or link, Space and Enter keep their usual meaning (press it), so the
    // page stays usable with Tab; the page puts focus back on itself after each step.
    const onControl = target && (target.tagName === "BUTTON" || target.tagName === "A" || target.tagName === "SELECT");
    if (event.key === " " || event.code === "Space") {
      if (onControl) return;
      event.preventDefault(); // no page scroll
      playFromStart();
    } else if (event.key === "Enter") {
      if (onControl) return;
      event.preventDefault();
      if (phase === "answered") loadNext();
    } else if (/^[1-9]$/.test(event.key)) {
      const index = Number(event.key) - 1;
      if (index < config.classes.length) {
        event.preventDefault();
        answer(config.classes[index]);
      }
    }
  });

  showProgress();
  drawWaveform();
  loadNext();
})();
