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
  const scoredBanner = $("scored-banner");
  const undoButton = $("undo");
  const listenInfo = $("listen-info");
  const pausePanel = $("pause");
  const work = $("work");
  const choiceButtons = Array.from(document.querySelectorAll(".choice"));
  const CANT_TELL = "cant_tell";
  // A touch screen without a keyboard gets no key hints (and the CSS hides them too).
  const touchOnly = window.matchMedia("(hover: none) and (pointer: coarse)").matches;
  if (touchOnly) document.body.classList.add("touch-only");

  // "loading": waiting for an item; "pause": a break screen is shown; "ready": item shown, not
  // answered; "sending": answer in flight; "answered": feedback shown, waiting for Next;
  // "changing": the assessor chose to change the answer; "stopped": an error the page cannot recover from.
  let phase = "loading";
  let item = null;
  let firstPlayAt = null; // performance.now() of the first play: response time counts from here
  let replays = 0;
  let peaks = null; // per-pixel [min, max] pairs of the decoded audio
  let progress = { done: 0, total: 0 };
  let pendingPlay = false; // Space pressed while the item was loading: play once it is ready
  let answeredItem = null; // { id, label }: the last answer, which can be changed until the next item
  let lastPhase = null; // the phase of the previous item: "warmup" then "main" shows the break screen
  let lastBreakAt = null; // progress.done when the last break reminder was shown

  // What was really played of the clip: the clip cut in bins, each marked once the sound went through it.
  const BINS = 200;
  let played = new Uint8Array(BINS);
  let lastPosition = null; // the play position at the last look, while playing continuously

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

  // --- Listening: what share of the clip really played ------------------------------------------

  function clipDuration() {
    return audio.duration && Number.isFinite(audio.duration) ? audio.duration : item ? item.duration : 0;
  }

  function markPlayed(from, to) {
    const duration = clipDuration();
    if (!duration || to < from) return;
    const first = Math.max(0, Math.floor((from / duration) * BINS));
    const last = Math.min(BINS - 1, Math.ceil((to / duration) * BINS) - 1);
    for (let bin = first; bin <= last; bin += 1) played[bin] = 1;
  }

  let lastLookAt = 0; // performance.now() of the last look

  function notePosition() {
    // The sound moves at most as fast as the clock (a little more for timer jitter): a bigger jump is
    // a seek, and the part skipped was not heard. Measured against the clock, not a fixed step, so a
    // slow, busy machine whose looks come seldom still counts what it played.
    const position = audio.currentTime;
    const now = performance.now();
    const wallSeconds = (now - lastLookAt) / 1000;
    if (lastPosition !== null && position >= lastPosition && position - lastPosition <= 1.2 * wallSeconds + 0.05) {
      markPlayed(lastPosition, position);
    }
    lastLookAt = now;
    // Kept while paused (a pause moves nothing); "play" starts from the position anew, a seek from its target.
    if (lastPosition !== null) lastPosition = position;
  }

  let ownSeeks = 0; // seeks this script made: their "seeking" events come later and change nothing

  function moveTo(seconds) {
    ownSeeks += 1;
    audio.currentTime = seconds;
    lastPosition = audio.currentTime; // playback goes on from here; what lies between was not heard
    lastLookAt = performance.now();
  }

  function playedFraction() {
    let count = 0;
    for (let bin = 0; bin < BINS; bin += 1) count += played[bin];
    return count / BINS;
  }

  function listenedEnough() {
    const rule = config.minListenFraction || 0;
    if (firstPlayAt === null) return false;
    if (rule <= 0) return true;
    const duration = clipDuration();
    const slack = Math.min(0.25, 0.1 * duration);
    const elapsed = (performance.now() - firstPlayAt) / 1000;
    return playedFraction() >= rule - 0.02 && elapsed >= rule * duration - slack;
  }

  function updateListening() {
    if (phase !== "ready" || firstPlayAt === null) return;
    const rule = config.minListenFraction || 0;
    const enough = listenedEnough();
    if (enough && choiceButtons.length && choiceButtons[0].disabled) {
      setChoicesEnabled(true);
      listenInfo.textContent = "";
      setStatus(touchOnly ? "Choose the emotion you hear." : `Choose the emotion you hear (keys 1–${config.classes.length}).`);
    } else if (!enough && rule > 0) {
      listenInfo.textContent = `heard ${Math.round(100 * playedFraction())}% of ${Math.round(100 * rule)}%`;
    }
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
      // Not a flat line (which reads as silence): say that the sound is on its way.
      context.fillStyle = "#5d6775";
      context.font = `${Math.round(14 * (window.devicePixelRatio || 1))}px system-ui, sans-serif`;
      context.textAlign = "center";
      context.textBaseline = "middle";
      context.fillText(item ? "Loading the audio…" : "", width / 2, middle);
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
    notePosition();
    updateListening();
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

  function showPause(title, text) {
    phase = "pause";
    pendingPlay = false; // a key pressed while loading does not skip the break screen
    $("pause-title").textContent = title;
    $("pause-text").textContent = text;
    pausePanel.hidden = false;
    work.hidden = true;
    setStatus(touchOnly ? "" : "Press Enter (or Continue) when you are ready.");
    $("pause-continue").focus({ preventScroll: true });
  }

  // A break screen before this item? Between warm-up and scored items, and every breakEvery items.
  function pauseBefore(newItem) {
    if (lastPhase === "warmup" && newItem.phase === "main") {
      lastBreakAt = progress.done;
      showPause(
        "Warm-up done",
        "From now on your answers count. " +
          (config.feedback ? "You will still see the experts' label after each answer. " : "") +
          `You have ${progress.total - progress.done} items to go.`
      );
      return true;
    }
    const every = config.breakEvery || 0;
    if (every > 0 && progress.done > 0 && progress.done % every === 0 && lastBreakAt !== progress.done) {
      lastBreakAt = progress.done;
      showPause(
        "Time for a break",
        `You have answered ${progress.done} of ${progress.total} items. Rest your ears for a minute; ` +
          "you can also leave now and come back later to this same place."
      );
      return true;
    }
    return false;
  }

  function showItem() {
    pausePanel.hidden = true;
    work.hidden = false;
    warmupBanner.hidden = item.phase !== "warmup";
    scoredBanner.hidden = item.phase !== "main";
    phase = "ready";
    showReplayInfo();
    trial.focus({ preventScroll: true });
    if (pendingPlay) {
      pendingPlay = false;
      playFromStart();
    } else {
      setStatus(touchOnly ? "Tap Play to listen." : "Press Space (or Play) to listen.");
    }
  }

  async function loadNext() {
    if (phase !== "answered" && phase !== "loading") return;
    phase = "loading";
    lastPhase = item ? item.phase : lastPhase;
    item = null;
    answeredItem = null; // asking for the next item ends the time to change the last answer
    firstPlayAt = null;
    replays = 0;
    played = new Uint8Array(BINS);
    lastPosition = null;
    ownSeeks = 0;
    feedback.hidden = true;
    feedback.className = "feedback";
    nextButton.hidden = true;
    undoButton.hidden = true;
    listenInfo.textContent = "";
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
    if (lastBreakAt === null) lastBreakAt = progress.done; // no break reminder on opening the page
    item = result.data.item;
    audio.src = item.audio_url;
    audio.load();
    // The item is shown once its waveform is drawn (or could not be), never as a flat line first.
    setStatus("Loading the audio…");
    await loadWaveform(item.audio_url);
    if (!pauseBefore(item)) showItem();
  }

  function continueAfterPause() {
    if (phase !== "pause") return;
    showItem();
  }

  function startPlayback(fromSeconds) {
    moveTo(fromSeconds);
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
      if ((config.minListenFraction || 0) <= 0) {
        updateListening();
      } else {
        setStatus("Listen to the clip; the answer buttons open once you have heard enough of it.");
      }
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
    if (phase === "loading") {
      // Bug 1 of issue 15: a key pressed while the item loads acts once it is ready.
      pendingPlay = true;
      setStatus("Loading the next item… it will play as soon as it is ready.");
      return;
    }
    if (!item || phase === "sending" || phase === "stopped" || phase === "pause") return;
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
      moveTo(share * audio.duration);
    }
  }

  function labelText(label) {
    return label === CANT_TELL ? "can't tell" : label;
  }

  async function answer(label) {
    if (phase === "changing") return changeAnswer(label);
    if (phase !== "ready" || firstPlayAt === null) return;
    if (!listenedEnough()) {
      setStatus("Listen to the clip first: the answer buttons open once you have heard enough of it.", true);
      return;
    }
    phase = "sending";
    setChoicesEnabled(false);
    notePosition();
    const responseMs = Math.round(performance.now() - firstPlayAt);
    const chosen = choiceButtons.find((button) => button.dataset.label === label);
    chosen.classList.add("chosen");
    setStatus("Saving…");
    let result;
    try {
      result = await callApi(config.answerUrl, {
        item: item.id,
        label,
        response_ms: responseMs,
        replays,
        played_fraction: Math.round(playedFraction() * 1000) / 1000,
      });
    } catch (error) {
      phase = "ready";
      chosen.classList.remove("chosen");
      setChoicesEnabled(true);
      setStatus("Network error: your answer was not saved. Choose again to retry.", true);
      return;
    }
    if (result.status === 400 || (result.status === 409 && /heard|listening/.test(errorText(result)))) {
      // A bad answer or one the listening rule refused: the item stays, nothing was saved.
      phase = "ready";
      chosen.classList.remove("chosen");
      setChoicesEnabled(listenedEnough());
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
    answeredItem = { id: item.id, label };
    showFeedback(label, result.data);
    nextButton.hidden = false;
    undoButton.hidden = false;
    showReplayInfo();
    setStatus(touchOnly ? "Tap Next for the next item." : "Press Enter (or Next) for the next item; U changes the answer.");
    trial.focus({ preventScroll: true });
  }

  function startChange() {
    if (phase === "answered" && answeredItem) {
      phase = "changing";
      choiceButtons.forEach((button) => button.classList.remove("chosen", "expert"));
      setChoicesEnabled(true);
      undoButton.hidden = true;
      setStatus("Choose the new answer (Escape keeps the old one).");
      return;
    }
    if (phase === "ready" || phase === "loading" || phase === "pause") {
      setStatus("Too late to change the last answer: the next item has started.", true);
    }
  }

  function cancelChange() {
    if (phase !== "changing") return;
    phase = "answered";
    setChoicesEnabled(false);
    const chosen = choiceButtons.find((button) => button.dataset.label === answeredItem.label);
    if (chosen) chosen.classList.add("chosen");
    undoButton.hidden = false;
    setStatus("Answer kept. Press Enter (or Next) for the next item.");
  }

  async function changeAnswer(label) {
    if (phase !== "changing" || !answeredItem) return;
    phase = "sending";
    setChoicesEnabled(false);
    const url = config.changeUrl.replace("00000000-0000-0000-0000-000000000000", answeredItem.id);
    let result;
    try {
      result = await callApi(url, { label });
    } catch (error) {
      phase = "changing";
      setChoicesEnabled(true);
      setStatus("Network error: the answer was not changed. Choose again to retry.", true);
      return;
    }
    phase = "answered";
    nextButton.hidden = false;
    if (!result.ok) {
      answeredItem = null;
      setStatus(errorText(result), true);
      trial.focus({ preventScroll: true });
      return;
    }
    answeredItem = { id: answeredItem.id, label };
    const chosen = choiceButtons.find((button) => button.dataset.label === label);
    if (chosen) chosen.classList.add("chosen");
    showFeedback(label, result.data);
    feedback.textContent = `Changed. ${feedback.textContent}`;
    undoButton.hidden = false;
    setStatus("Answer changed. Press Enter (or Next) for the next item.");
    trial.focus({ preventScroll: true });
  }

  function showFeedback(label, data) {
    feedback.hidden = false;
    feedback.className = "feedback";
    if (data && typeof data.expert_label === "string") {
      const expert = choiceButtons.find((button) => button.dataset.label === data.expert_label);
      if (expert) expert.classList.add("expert");
      if (label === CANT_TELL) {
        feedback.textContent = `You said you can't tell; the experts said ${data.expert_label}.`;
      } else {
        feedback.classList.add(data.correct ? "match" : "mismatch");
        feedback.textContent = data.correct
          ? `Yes: the experts also said ${data.expert_label}.`
          : `The experts said ${data.expert_label}; you said ${label}.`;
      }
    } else {
      feedback.textContent = `Saved: ${labelText(label)}.`;
    }
  }

  // --- Wiring ---------------------------------------------------------------------------------

  playButton.addEventListener("click", () => {
    playFromStart();
    trial.focus({ preventScroll: true });
  });
  nextButton.addEventListener("click", () => loadNext());
  undoButton.addEventListener("click", () => startChange());
  $("pause-continue").addEventListener("click", () => continueAfterPause());
  choiceButtons.forEach((button) => button.addEventListener("click", () => answer(button.dataset.label)));
  canvas.addEventListener("click", seek);
  audio.addEventListener("play", () => {
    // Plays start through moveTo, which set the position; this is only a fallback.
    if (lastPosition === null) {
      lastPosition = audio.currentTime;
      lastLookAt = performance.now();
    }
    requestAnimationFrame(animate);
  });
  // A seek: playback goes on from the new position (already in currentTime); what lies between
  // was skipped, not heard.
  audio.addEventListener("seeking", () => {
    if (ownSeeks > 0) {
      // Ours: moveTo already set where playback goes on; by the time this event runs on a busy
      // machine the sound may have moved on, and that part was heard.
      ownSeeks -= 1;
      return;
    }
    lastPosition = audio.currentTime;
    lastLookAt = performance.now();
  });
  audio.addEventListener("timeupdate", () => {
    notePosition();
    updateListening();
  });
  audio.addEventListener("pause", () => notePosition());
  audio.addEventListener("ended", () => {
    // The last look can come a little before the end: the sound did play to the end.
    const wallSeconds = (performance.now() - lastLookAt) / 1000;
    if (lastPosition !== null && clipDuration() - lastPosition <= 1.2 * wallSeconds + 0.05) {
      markPlayed(lastPosition, clipDuration());
    }
    lastPosition = null;
    updateListening();
    drawWaveform();
  });
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
      else if (phase === "pause") continueAfterPause();
    } else if (event.key === "Escape") {
      cancelChange();
    } else if (event.key === "u" || event.key === "U") {
      event.preventDefault();
      startChange();
    } else if (event.key === "0" && config.allowCantTell) {
      event.preventDefault();
      if (phase === "loading") setStatus("Loading the next item…");
      else answer(CANT_TELL);
    } else if (/^[1-9]$/.test(event.key)) {
      const index = Number(event.key) - 1;
      if (index < config.classes.length) {
        event.preventDefault();
        if (phase === "loading") setStatus("Loading the next item… listen to it before answering.");
        else answer(config.classes[index]);
      }
    }
  });

  showProgress();
  drawWaveform();
  loadNext();
})();
