/* Player of the broadcast_api demo: hls.js tuned for the live edge of plain HLS
 * (1 s segments), showing glass-to-glass latency = now - hls.playingDate. */
(function () {
  "use strict";

  var root = document.getElementById("player");
  var video = document.getElementById("video");
  var latencyEl = document.getElementById("latency");
  var edgeEl = document.getElementById("edge");
  var clockEl = document.getElementById("clock");
  var stateEl = document.getElementById("player-state");
  var statusEl = document.getElementById("status");
  var src = root.dataset.src;
  var isLive = null; // from the playlist: false once it carries EXT-X-ENDLIST

  function setState(text) {
    stateEl.textContent = text;
    root.dataset.playerState = text;
  }

  function pad(n, width) {
    var s = String(n);
    while (s.length < width) s = "0" + s;
    return s;
  }

  function utc(date) {
    return pad(date.getUTCHours(), 2) + ":" + pad(date.getUTCMinutes(), 2) + ":" +
      pad(date.getUTCSeconds(), 2) + "." + pad(date.getUTCMilliseconds(), 3);
  }

  function setStatus(status) {
    statusEl.textContent = status;
    statusEl.className = "badge " + status;
    root.dataset.streamStatus = status;
  }

  function pollStatus() {
    fetch(root.dataset.statusUrl, { cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) { if (s) setStatus(s.status); })
      .catch(function () {});
  }
  setInterval(pollStatus, 5000);

  if (!window.Hls) {
    setState("hls.js missing: run `make hls-assets`");
    return;
  }
  if (!window.Hls.isSupported()) {
    if (video.canPlayType("application/vnd.apple.mpegurl")) {
      video.src = src; // native HLS (Safari): no playingDate, so no latency figure
      setState("native HLS");
    } else {
      setState("this browser cannot play HLS (no Media Source Extensions)");
    }
    return;
  }

  var Hls = window.Hls;
  var hls = new Hls({
    // Plain HLS with 1 s segments: stay 2 segments behind the newest one, and speed up
    // (up to 1.5x) rather than jump when playback falls behind, e.g. after a stall.
    liveSyncDurationCount: 2,
    liveMaxLatencyDurationCount: 6,
    maxLiveSyncPlaybackRate: 1.5,
    lowLatencyMode: false, // no LL-HLS parts here
    startPosition: -1, // live: start at the live edge
    backBufferLength: 30,
    enableWorker: true,
  });
  window.broadcastPlayer = { hls: hls, video: video };

  hls.on(Hls.Events.MANIFEST_PARSED, function () {
    setState("buffering");
    var played = video.play();
    if (played && played.catch) played.catch(function () { setState("press play"); });
  });
  hls.on(Hls.Events.LEVEL_UPDATED, function (_event, data) {
    isLive = !!data.details.live;
    if (!isLive) {
      setStatus("ended");
    }
  });
  hls.on(Hls.Events.ERROR, function (_event, data) {
    if (!data.fatal) return;
    if (data.type === Hls.ErrorTypes.NETWORK_ERROR) {
      // The first playlist may not be uploaded yet (404), or S3 hiccupped: retry.
      setState("waiting for the stream (" + data.details + ")");
      setTimeout(function () {
        if (data.details === Hls.ErrorDetails.MANIFEST_LOAD_ERROR ||
            data.details === Hls.ErrorDetails.MANIFEST_LOAD_TIMEOUT) {
          hls.loadSource(src);
        } else {
          hls.startLoad();
        }
      }, 1000);
    } else if (data.type === Hls.ErrorTypes.MEDIA_ERROR) {
      setState("recovering from a media error");
      hls.recoverMediaError();
    } else {
      setState("error: " + data.details);
    }
  });

  video.addEventListener("playing", function () { setState(isLive === false ? "playing recording" : "playing"); });
  video.addEventListener("waiting", function () { setState("buffering"); });
  video.addEventListener("ended", function () { setState("ended"); });

  setInterval(function () {
    var now = new Date();
    clockEl.textContent = utc(now);
    var playing = hls.playingDate;
    if (isLive && playing && !video.paused && video.readyState >= 2) {
      var ms = now.getTime() - playing.getTime();
      latencyEl.textContent = (ms / 1000).toFixed(2) + " s";
      latencyEl.dataset.latencyMs = String(Math.round(ms));
      var behind = hls.latency;
      edgeEl.textContent = isFinite(behind) ? behind.toFixed(2) + " s" : "—";
    } else if (isLive === false) {
      latencyEl.textContent = "— (recording)";
      latencyEl.dataset.latencyMs = "";
      edgeEl.textContent = "—";
    }
  }, 100);

  hls.loadSource(src);
  hls.attachMedia(video);
})();
