/* visavis web widget: a talking avatar in any page, with one tag.

   <script src="https://HOST/v1/widget.js" data-character="ch_..." data-key="pk_..." async></script>

   Attributes: data-character, data-key (a publishable key: pk_..., never a secret one),
   data-mode="inline" (default: the player goes where the tag is, or into data-target="#id")
   or "floating" (a corner of the window), data-autostart="false" (wait for visavis.start()),
   data-transport="auto" | "webrtc" | "websocket", data-size="512" | "720p".

   API (window.visavis): start(), close(), say(text), speak(audio[, {sampleRate}]) (an
   ArrayBuffer/Blob/typed array of an audio file, or of 16-bit PCM with sampleRate),
   interrupt(), listen(on), mute(on), stats(), on(event, fn), off(event, fn). Events: ready,
   speaking, listening, idle, state, reconnecting, ended, error; also DOM CustomEvents
   "visavis:<event>" that bubble from the player. A page can queue calls before the script
   has loaded: window.visavis = window.visavis || []; visavis.push((v) => v.on(...)).

   Media: WebRTC (one peer connection: the face and its voice in, the microphone out, with the
   browser's jitter buffer and echo cancellation); if that cannot connect, the WebSocket
   (/stream: JPEG + PCM per frame, scheduled on a WebAudio clock). After a network drop it
   reconnects with backoff and resumes the same session. */
(function () {
  "use strict";
  const CONFIG = /*VISAVIS_CONFIG*/{};  // filled in by the service: {iceServers: [...]}
  const RATE = 16000;            // the session's audio on the WebSocket: 16 kHz mono 16-bit
  const JITTER_S = 0.12;         // WebSocket audio is scheduled this far ahead; pictures wait too
  const MIC_POST_S = 0.2;        // WebSocket path: microphone audio posted in chunks of this
  const CONNECT_TIMEOUT_MS = 10000;
  const ICE_GATHER_MS = 3000;
  const DISCONNECTED_GRACE_MS = 4000;
  const BACKOFF_MS = [500, 1000, 2000, 4000, 8000, 15000];

  const script = document.currentScript;
  const queued = Array.isArray(window.visavis) ? window.visavis : [];
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  class ApiError extends Error {
    constructor(status, message) { super(message); this.status = status; }
  }

  const SOUND = '<svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true"><path fill="currentColor" d="M3 9v6h4l5 5V4L7 9H3z"/>';
  const ICON_SOUND = SOUND + '<path fill="none" stroke="currentColor" stroke-width="2" d="M15.5 8.5a5 5 0 0 1 0 7"/></svg>';
  const ICON_MUTED = SOUND + '<path stroke="currentColor" stroke-width="2" d="M15 9l6 6m0-6l-6 6"/></svg>';

  const STYLE = `
    :host { all: initial; display: block; font: 14px/1.3 system-ui, sans-serif; }
    .player { position: relative; width: 100%; max-width: var(--visavis-width, 360px);
              aspect-ratio: var(--aspect, 1); background: #111; border-radius: 12px;
              overflow: hidden; box-sizing: border-box; }
    :host(.floating) { position: fixed; right: 16px; bottom: 16px; z-index: 2147483000;
                       width: min(240px, calc(100vw - 32px)); }
    video, canvas { position: absolute; inset: 0; width: 100%; height: 100%; object-fit: cover; }
    .bar { position: absolute; top: 6px; right: 6px; display: flex; gap: 6px; }
    button { all: unset; display: grid; place-items: center; cursor: pointer; width: 32px;
             height: 32px; border-radius: 50%; background: rgba(0,0,0,.55); color: #fff;
             font-size: 16px; }
    button:focus-visible { outline: 2px solid #fff; }
    .note { position: absolute; left: 8px; right: 8px; bottom: 8px; color: #fff; font-size: 13px;
            text-shadow: 0 1px 2px #000; }
    .start { position: absolute; inset: 0; margin: auto; width: fit-content; height: 40px;
             padding: 0 18px; border-radius: 20px; background: rgba(0,0,0,.65); }
    [hidden] { display: none !important; }`;

  class Widget {
    constructor(options) {
      this.base = options.base;
      this.key = options.key;
      this.character = options.character;
      this.transport = options.transport || "auto";
      this.size = options.size || "512";
      this.handlers = {};
      this.session = null;
      this.media = null;       // {kind: "webrtc"|"websocket", close()}
      this.state = null;
      this.micOn = false;
      this.muted = false;
      this.closing = false;
      this.reconnecting = false;
      this.counts = { frames: 0, audioSeconds: 0, audioEnergy: 0 };
      this.element = this.buildPlayer(options);
    }

    // ---- the player -------------------------------------------------------------------
    buildPlayer(options) {
      const host = document.createElement("div");
      host.className = "visavis-widget" + (options.mode === "floating" ? " floating" : "");
      const root = host.attachShadow({ mode: "open" });
      root.innerHTML = `<style>${STYLE}</style>
        <div class="player" part="player" style="--aspect:${this.size === "720p" ? "16/9" : "1"}">
          <video playsinline autoplay></video><canvas hidden></canvas>
          <div class="bar" hidden><button class="mute" aria-label="Mute">${ICON_SOUND}</button>
            <button class="close" aria-label="Close">&#10005;</button></div>
          <button class="start">Talk</button><div class="note" role="status"></div>
        </div>`;
      this.video = root.querySelector("video");
      this.canvas = root.querySelector("canvas");
      this.note = root.querySelector(".note");
      this.startButton = root.querySelector(".start");
      this.bar = root.querySelector(".bar");
      this.muteButton = root.querySelector(".mute");
      this.muteButton.onclick = () => this.mute(!this.muted);
      root.querySelector(".close").onclick = () => this.close();
      this.startButton.onclick = () => this.start();
      const target = options.target && document.querySelector(options.target);
      if (target) target.appendChild(host);
      else if (options.mode !== "floating" && options.script && options.script.parentNode) {
        options.script.parentNode.insertBefore(host, options.script.nextSibling);
      } else document.body.appendChild(host);
      return host;
    }

    show(text) { this.note.textContent = text || ""; }
    showLive(on) { this.startButton.hidden = on; this.bar.hidden = !on; }

    // ---- events -----------------------------------------------------------------------
    on(name, fn) { (this.handlers[name] = this.handlers[name] || []).push(fn); return this; }
    off(name, fn) { this.handlers[name] = (this.handlers[name] || []).filter((f) => f !== fn); return this; }
    emit(name, detail = {}) {
      for (const fn of this.handlers[name] || []) {
        try { fn(detail); } catch (err) { console.error("visavis: a '" + name + "' handler failed", err); }
      }
      this.element.dispatchEvent(new CustomEvent("visavis:" + name, { detail, bubbles: true, composed: true }));
    }
    fail(err) {
      const message = err && err.message ? err.message : String(err);
      this.show(message);
      this.emit("error", { message, status: err && err.status });
    }

    // ---- the REST API (the one place that presents the key) ---------------------------
    headers(extra = {}) { return { "X-API-Key": this.key, ...extra }; }
    async api(method, path, body, type) {
      const init = { method, headers: this.headers(type ? { "Content-Type": type } : {}) };
      if (body !== undefined) init.body = body;
      let response;
      try { response = await fetch(this.base + path, init); }
      catch (err) { throw new ApiError(0, `${method} ${path}: network error (${err.message})`); }
      if (!response.ok) {
        let message = response.statusText;
        try {
          const error = await response.json();
          const found = error.error || error.detail;  // one error shape, or FastAPI's
          message = typeof found === "string" ? found : (found && found.message) || JSON.stringify(found);
        } catch (_) { /* not JSON */ }
        throw new ApiError(response.status, `${method} ${path}: ${response.status} ${message}`);
      }
      return response.status === 204 ? null : response.json();
    }
    json(method, path, value) { return this.api(method, path, JSON.stringify(value), "application/json"); }
    path(rest = "") { return `/v1/sessions/${this.session.id}${rest}`; }
    streamUrl() {
      return this.base.replace(/^http/, "ws") + this.path("/stream");
    }
    streamProtocols() { return ["visavis", "visavis.key." + this.key]; }  // no headers on a WebSocket

    // ---- lifecycle ---------------------------------------------------------------------
    start() {
      if (!this.starting) this.starting = this.open().finally(() => { this.starting = null; });
      return this.starting;
    }

    async open() {
      if (this.session && !this.closing) return this.session;
      this.closing = false;
      this.showLive(true);
      this.show("connecting…");
      try {
        this.session = await this.json("POST", "/v1/sessions", { character_id: this.character, size: this.size });
        await this.connect(false);
        return this.session;
      } catch (err) {
        this.fail(err);
        this.teardown();
        if (this.session) this.api("POST", this.path("/close")).catch(() => {});  // not left running
        this.showLive(false);
        this.session = null;
        throw err;
      }
    }

    async connect(resumed) {
      this.media = null;
      if (this.transport !== "websocket" && window.RTCPeerConnection) {
        try { this.media = await this.connectWebRtc(); }
        catch (err) {
          if (this.transport === "webrtc" || err.status === 401 || err.status === 403) throw err;
          console.info("visavis: WebRTC did not connect (" + err.message + "); using the WebSocket");
        }
      }
      if (!this.media) this.media = await this.connectWebSocket();
      this.followEvents();
      if (this.micOn) await this.listen(true).catch((err) => this.fail(err));  // the face stays
      this.show("");
      this.emit("ready", { session: this.session.id, transport: this.media.kind, resumed });
    }

    async close() {
      if (this.closing) return;
      this.closing = true;
      this.teardown();
      this.stopMicrophone();
      const session = this.session;
      this.session = null;
      if (session) {
        fetch(`${this.base}/v1/sessions/${session.id}/close`,
              { method: "POST", headers: this.headers(), keepalive: true }).catch(() => {});
      }
      this.showLive(false);
      this.show("");
      this.emit("ended", { session: session && session.id });
    }

    teardown() {
      if (this.media) this.media.close();
      if (this.micNode) this.micNode.disconnect();  // the microphone stream stays for the next media
      this.media = this.micNode = null;
      if (this.eventsAbort) this.eventsAbort.abort();
      this.eventsAbort = null;
    }

    // A drop of any channel (media or events) ends here: reconnect with backoff, same session.
    async dropped(why) {
      if (this.closing || this.reconnecting || !this.session) return;
      this.reconnecting = true;
      this.teardown();
      this.show("reconnecting…");
      this.emit("reconnecting", { reason: why });
      for (let attempt = 0; !this.closing; attempt++) {
        const wait = BACKOFF_MS[Math.min(attempt, BACKOFF_MS.length - 1)];
        await Promise.race([sleep(wait * (0.75 + Math.random() / 2)), this.online()]);
        if (this.closing) break;
        try {
          let info = await this.api("GET", this.path());
          if (info.status !== "open") info = await this.api("POST", this.path("/resume"));
          this.session = info;
          await this.connect(true);
          break;
        } catch (err) {
          this.teardown();
          if ([401, 403, 404].includes(err.status)) { this.reconnecting = false; this.fail(err); return this.close(); }
          console.info("visavis: reconnect attempt " + (attempt + 1) + " failed: " + err.message);
        }
      }
      this.reconnecting = false;
    }
    online() { return new Promise((resolve) => window.addEventListener("online", resolve, { once: true })); }

    // ---- WebRTC ------------------------------------------------------------------------
    async connectWebRtc() {
      const pc = new RTCPeerConnection({ iceServers: CONFIG.iceServers || [] });
      const stream = new MediaStream();
      let closed = false, graceTimer = null;
      pc.addTransceiver("video", { direction: "recvonly" });
      const mic = pc.addTransceiver("audio", { direction: "sendrecv" });
      pc.ontrack = (event) => { stream.addTrack(event.track); this.video.srcObject = stream; };
      const media = {
        kind: "webrtc", pc, mic,
        close: () => { closed = true; clearTimeout(graceTimer); pc.close(); this.video.srcObject = null; },
      };
      try {
        await pc.setLocalDescription(await pc.createOffer());
        await gathered(pc, ICE_GATHER_MS);
        const answer = await this.json("POST", this.path("/webrtc"), { sdp: pc.localDescription.sdp, type: "offer" });
        await pc.setRemoteDescription(answer);
        await connected(pc, CONNECT_TIMEOUT_MS);
      } catch (err) { media.close(); throw err; }
      pc.onconnectionstatechange = () => {
        if (closed) return;
        clearTimeout(graceTimer);
        if (pc.connectionState === "failed" || pc.connectionState === "closed") this.dropped("webrtc " + pc.connectionState);
        else if (pc.connectionState === "disconnected") {
          graceTimer = setTimeout(() => this.dropped("webrtc disconnected"), DISCONNECTED_GRACE_MS);
        }
      };
      this.canvas.hidden = true;
      this.video.hidden = false;
      this.video.muted = this.muted;
      await this.play();
      return media;
    }

    async play() {
      try { await this.video.play(); }
      catch (_) {  // autoplay with sound needs a gesture on this page: start muted, offer sound
        this.video.muted = true;
        this.mute(true);
        this.video.play().catch(() => {});
        this.show("tap the speaker for sound");
      }
    }

    // ---- WebSocket fallback ------------------------------------------------------------
    async connectWebSocket() {
      this.audio = this.audio || new AudioContext({ sampleRate: RATE });
      this.gain = this.gain || this.audio.createGain();
      this.gain.connect(this.audio.destination);
      this.gain.gain.value = this.muted ? 0 : 1;
      this.audio.resume().catch(() => {});
      const socket = new WebSocket(this.streamUrl(), this.streamProtocols());
      socket.binaryType = "arraybuffer";
      let closed = false;
      const media = { kind: "websocket", socket, close: () => { closed = true; socket.close(); } };
      await new Promise((resolve, reject) => {
        socket.onopen = resolve;
        socket.onerror = () => reject(new ApiError(0, "the frame stream could not be opened"));
        socket.onclose = (e) => reject(new ApiError(e.code === 4401 ? 401 : 0, `frame stream closed (${e.code}) ${e.reason}`));
      });
      this.playAt = 0;
      socket.onmessage = (message) => this.showFrame(message.data);
      socket.onclose = (event) => { if (!closed) this.dropped(`stream closed (${event.code})`); };
      this.video.hidden = true;
      this.canvas.hidden = false;
      if (this.audio.state !== "running") this.show("tap the speaker for sound");
      return media;
    }

    showFrame(buffer) {
      const view = new DataView(buffer);
      const headerLength = view.getUint32(0, true), jpegLength = view.getUint32(4, true);
      const jpeg = new Uint8Array(buffer, 8 + headerLength, jpegLength);
      const pcm = new Int16Array(buffer.slice(8 + headerLength + jpegLength));
      const samples = new Float32Array(pcm.length);
      let energy = 0;
      for (let i = 0; i < pcm.length; i++) { samples[i] = pcm[i] / 32768; energy += samples[i] * samples[i]; }
      const clip = this.audio.createBuffer(1, samples.length, RATE);
      clip.copyToChannel(samples, 0);
      const source = this.audio.createBufferSource();
      source.buffer = clip;
      source.connect(this.gain);
      // a late frame restarts the schedule a jitter ahead instead of piling up delay
      if (this.playAt < this.audio.currentTime) this.playAt = this.audio.currentTime + JITTER_S;
      source.start(this.playAt);
      const showIn = Math.max(0, (this.playAt - this.audio.currentTime) * 1000);
      this.playAt += samples.length / RATE;
      this.counts.audioSeconds += samples.length / RATE;
      this.counts.audioEnergy += energy / RATE;  // as WebRTC's totalAudioEnergy: level² × seconds
      createImageBitmap(new Blob([jpeg], { type: "image/jpeg" })).then((picture) => {
        setTimeout(() => {
          if (this.canvas.width !== picture.width) { this.canvas.width = picture.width; this.canvas.height = picture.height; }
          this.canvas.getContext("2d").drawImage(picture, 0, 0);
          this.counts.frames += 1;
        }, showIn);
      }).catch((err) => this.fail(err));
    }

    // ---- session events (server-sent, read with fetch: EventSource cannot send a key) ---
    async followEvents() {
      const abort = (this.eventsAbort = new AbortController());
      try {
        const response = await fetch(this.base + this.path("/events"), { headers: this.headers(), signal: abort.signal });
        if (!response.ok) throw new ApiError(response.status, "events: " + response.status);
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let pending = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          pending += value;
          let end;
          while ((end = pending.indexOf("\n\n")) >= 0) {
            this.sessionEvent(pending.slice(0, end));
            pending = pending.slice(end + 2);
          }
        }
        if (!abort.signal.aborted) this.dropped("the session's events ended");
      } catch (err) {
        if (!abort.signal.aborted) this.dropped("events: " + err.message);
      }
    }

    sessionEvent(block) {
      const data = block.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5)).join("\n");
      if (!data) return;  // a keep-alive comment
      const event = JSON.parse(data);
      if (event.type === "state" && event.state !== this.state) {
        this.state = event.state;
        this.emit("state", { state: event.state });
        if (["speaking", "listening", "idle"].includes(event.state)) this.emit(event.state, event);
      } else if (event.type === "error") this.fail(new Error(event.message || event.reason || "the session failed"));
      else if (event.type !== "state") this.emit(event.type, event);
    }

    // ---- what the avatar says and hears ------------------------------------------------
    say(text) { return this.json("POST", this.path("/speak"), { text }); }
    speak(audio, options = {}) {
      const body = audio instanceof Blob ? audio : new Blob([audio]);
      if (options.sampleRate) {  // raw 16-bit PCM
        return this.api("POST", this.path(`/audio?sample_rate=${options.sampleRate}&channels=${options.channels || 1}`), body, "audio/L16");
      }
      return this.api("POST", this.path("/audio"), body, body.type || "application/octet-stream");
    }
    interrupt() { return this.api("POST", this.path("/interrupt")); }

    async listen(on) {
      this.micOn = Boolean(on);
      if (!this.media) return;
      if (!on) {
        if (this.media.kind === "webrtc") await this.media.mic.sender.replaceTrack(null);
        return this.stopMicrophone();
      }
      if (!this.micStream) {
        this.micStream = await navigator.mediaDevices.getUserMedia({ audio:
          { echoCancellation: true, noiseSuppression: true, autoGainControl: true, channelCount: 1 } });
      }
      if (this.media.kind === "webrtc") {
        await this.media.mic.sender.replaceTrack(this.micStream.getAudioTracks()[0]);
      } else if (!this.micNode) {
        this.micNode = this.postMicrophone(this.micStream);
      }
    }

    stopMicrophone() {
      if (this.micNode) this.micNode.disconnect();
      if (this.micStream) this.micStream.getTracks().forEach((t) => t.stop());
      this.micNode = this.micStream = null;
    }

    postMicrophone(stream) {  // the WebSocket path: microphone PCM posted as the partner stream
      const input = this.audio.createMediaStreamSource(stream);
      const node = this.audio.createScriptProcessor(4096, 1, 1);
      let pending = [], count = 0;
      node.onaudioprocess = (event) => {
        const samples = event.inputBuffer.getChannelData(0);
        const pcm = new Int16Array(samples.length);
        for (let i = 0; i < samples.length; i++) pcm[i] = Math.max(-1, Math.min(1, samples[i])) * 32767;
        pending.push(pcm);
        count += pcm.length;
        if (count < MIC_POST_S * this.audio.sampleRate || !this.session) return;
        const body = new Int16Array(count);
        let offset = 0;
        for (const part of pending) { body.set(part, offset); offset += part.length; }
        pending = []; count = 0;
        this.api("POST", this.path(`/partner-audio?sample_rate=${this.audio.sampleRate}`), body, "audio/L16")
          .catch((err) => console.info("visavis: microphone chunk not sent: " + err.message));
      };
      input.connect(node);
      node.connect(this.audio.destination);  // a ScriptProcessor runs only when connected (it outputs silence)
      return { disconnect: () => { node.disconnect(); input.disconnect(); } };
    }

    mute(on) {
      this.muted = Boolean(on);
      this.video.muted = this.muted;
      if (this.gain) this.gain.gain.value = this.muted ? 0 : 1;
      if (!this.muted && this.audio) this.audio.resume().catch(() => {});
      if (!this.muted && this.media && this.media.kind === "webrtc") this.video.play().catch(() => {});
      if (!this.muted) this.show("");
      this.muteButton.innerHTML = this.muted ? ICON_MUTED : ICON_SOUND;
      this.muteButton.setAttribute("aria-label", this.muted ? "Unmute" : "Mute");
    }

    async stats() {
      const kind = this.media && this.media.kind;
      const playing = kind === "webrtc" ? !this.video.paused : Boolean(this.audio && this.audio.state === "running");
      const out = { transport: kind, session: this.session && this.session.id, state: this.state,
                    frames: this.counts.frames, audioSeconds: this.counts.audioSeconds,
                    audioEnergy: this.counts.audioEnergy, audible: Boolean(kind) && playing && !this.muted };
      if (this.media && this.media.kind === "webrtc") {
        (await this.media.pc.getStats()).forEach((report) => {
          if (report.type !== "inbound-rtp") return;
          if (report.kind === "video") out.frames = report.framesDecoded || 0;
          if (report.kind === "audio") {
            out.audioSeconds = report.totalSamplesDuration || 0;
            out.audioEnergy = report.totalAudioEnergy || 0;
          }
        });
      }
      return out;
    }
  }

  function gathered(pc, timeoutMs) {  // the server takes no trickled candidates: wait for them all
    if (pc.iceGatheringState === "complete") return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => { if (pc.iceGatheringState === "complete") resolve(); };
      pc.addEventListener("icegatheringstatechange", done);
      setTimeout(resolve, timeoutMs);  // use what was gathered so far
    });
  }

  function connected(pc, timeoutMs) {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (pc.connectionState === "connected") resolve();
        else if (pc.connectionState === "failed" || pc.connectionState === "closed") reject(new Error("WebRTC " + pc.connectionState));
      };
      pc.addEventListener("connectionstatechange", check);
      setTimeout(() => reject(new Error("WebRTC did not connect within " + timeoutMs / 1000 + " s")), timeoutMs);
      check();
    });
  }

  // ---- the tag --------------------------------------------------------------------------
  const data = script ? script.dataset : {};
  const widget = new Widget({
    base: script ? new URL(script.src, location.href).origin : location.origin,
    key: data.key, character: data.character, mode: data.mode, target: data.target,
    transport: data.transport, size: data.size, script,
  });
  const api = {
    start: () => widget.start(), close: () => widget.close(), say: (t) => widget.say(t),
    speak: (a, o) => widget.speak(a, o), interrupt: () => widget.interrupt(),
    listen: (on = true) => widget.listen(on), mute: (on = true) => widget.mute(on),
    stats: () => widget.stats(), on: (n, f) => { widget.on(n, f); return api; },
    off: (n, f) => { widget.off(n, f); return api; }, element: widget.element,
    push: (fn) => fn(api),
  };
  window.visavis = api;
  // a page that goes away ends its session rather than leaving it to idle out
  window.addEventListener("pagehide", () => { if (widget.session) widget.close(); });
  if (!data.key || !data.character) widget.fail(new Error("visavis: the script tag needs data-key and data-character"));
  else if (/^(vv_|sk_)/.test(data.key)) widget.fail(new Error("visavis: use a publishable key (pk_...) in a page, never a secret key"));
  for (const fn of queued) { try { fn(api); } catch (err) { console.error(err); } }
  if (data.key && data.character && data.autostart !== "false") widget.start().catch(() => {});
})();
