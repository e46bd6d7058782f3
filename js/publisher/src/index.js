/**
 * The browser publisher of django-broadcast-api: a tab broadcasts live HLS straight into
 * the stream's S3 prefix, with the short-lived credentials the API mints. No media
 * server in between; the Django server never touches video.
 *
 * Encoding and muxing are mediabunny's (WebCodecs H.264, AAC where the browser can
 * encode it, else Opus; fragmented MP4 segments and live HLS playlists), SigV4 signing is
 * aws4fetch's. This module only follows the broadcast protocol: start, upload each piece
 * in order (segments before the playlist that lists them), refresh the credentials
 * before they expire, upload a poster every few seconds (announced once it is there),
 * end the playlist and stop.
 *
 *   import { Publisher } from "/static/broadcast_api/publisher.js";
 *   const publisher = new Publisher({ apiBase: "/api", headers: { "X-CSRFToken": token } });
 *   publisher.addEventListener("segment", (e) => console.log(e.detail));
 *   await publisher.start({ name: "from my tab", source: "camera" });
 *   ...
 *   await publisher.stop();
 */

import {
  BufferTarget,
  CmafOutputFormat,
  HlsOutputFormat,
  MediaStreamAudioTrackSource,
  MediaStreamVideoTrackSource,
  Output,
  PathedTarget,
  canEncodeAudio,
} from "mediabunny";
import { AwsClient } from "aws4fetch";

/** The upload layout, shared with `broadcast-publish`: names under the stream's prefix. */
export const LAYOUT = {
  playlist: "index.m3u8",
  init: "init.mp4",
  segment: (index) => `seg_${String(index).padStart(6, "0")}.m4s`,
  poster: "poster.jpg",
};

const CONTENT_TYPES = {
  m3u8: ["application/vnd.apple.mpegurl", "no-cache"],
  m4s: ["video/iso.segment", "public, max-age=31536000, immutable"],
  mp4: ["video/mp4", "public, max-age=31536000, immutable"],
  jpg: ["image/jpeg", "max-age=5"],
};

const DEFAULTS = {
  segmentSeconds: 1,
  videoBitrate: 2_500_000,
  audioBitrate: 128_000,
  width: 1280,
  height: 720,
  frameRate: 30,
  posterSeconds: 5,
  uploadAttempts: 6,
};

/** Seconds before expiry to refresh: a third of the lifetime, at most five minutes. */
export function refreshMargin(lifetimeSeconds) {
  return Math.min(lifetimeSeconds / 3, 300);
}

/** The seed's `endpoint.S3` answer, as what uploads need. */
export function uploadTarget(answer) {
  const s3 = answer.endpoint.S3;
  return {
    streamId: String(answer.stream.id),
    bucket: s3.s3_bucket_name,
    prefix: String(s3.s3_bucket_path).replace(/^\/+|\/+$/g, ""),
    region: s3.s3_bucket_region,
    endpoint: s3.s3_endpoint_url || `https://s3.${s3.s3_bucket_region}.amazonaws.com`,
    lifetime: Number(s3.aws_expiration),
    receivedAt: Date.now(),
    credentials: {
      accessKeyId: s3.aws_access_key_id,
      secretAccessKey: s3.aws_secret_access_key,
      sessionToken: s3.aws_session_token,
    },
  };
}

/** An EVENT playlist (segments are only ever appended) from mediabunny's live one. */
export function asEventPlaylist(text) {
  if (text.includes("#EXT-X-PLAYLIST-TYPE:")) return text;
  return text.replace(/^(#EXT-X-VERSION:\d+\n)/m, "$1#EXT-X-PLAYLIST-TYPE:EVENT\n");
}

/**
 * One broadcast from this tab. Events (`CustomEvent`, data in `detail`):
 * `live` {stream, playbackUrl}, `segment` {name, bytes, index}, `lag` {seconds, queued},
 * `credentials` {expiresIn}, `poster` {thumbnailUrl} (the first poster, announced),
 * `error` {message, fatal}, `stopped` {stream}.
 */
export class Publisher extends EventTarget {
  /**
   * @param {object} options
   * @param {string} [options.apiBase] where `/stream/start/` is (default: same origin, "")
   * @param {object} [options.headers] sent with every API request (CSRF token, Authorization)
   * @param {(method: string, path: string, body: object) => Promise<object>} [options.request]
   *   performs an API request itself (the host's own auth); replaces apiBase and headers
   */
  constructor(options = {}) {
    super();
    this.options = { ...DEFAULTS, ...options };
    this.target = null;
    this.stream = null;
    this.queue = Promise.resolve();
    this.queued = 0;
    this.segments = 0;
    this.stopped = false;
    this.enqueuedNames = new Set();
    this.pendingPlaylist = null;
    this.posterAnnounced = false;
  }

  // -- the API ---------------------------------------------------------------------------

  async api(method, path, body) {
    if (this.options.request) return this.options.request(method, path, body);
    const response = await fetch(`${this.options.apiBase || ""}${path}`, {
      method,
      credentials: "same-origin",
      headers: {
        Accept: "application/json",
        "Content-Type": "application/json",
        ...(this.options.headers || {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) {
      const error = new Error(`${method} ${path} answered ${response.status}: ${text.slice(0, 300)}`);
      error.status = response.status;
      throw error;
    }
    return JSON.parse(text);
  }

  // -- start -----------------------------------------------------------------------------

  /**
   * Capture, start the stream and go live.
   * @param {object} options
   * @param {string} [options.name]
   * @param {"camera"|"screen"|MediaStream} [options.source]
   * @param {boolean} [options.isPublic]
   */
  async start({ name = "", source = "camera", isPublic = false } = {}) {
    const media = await this.capture(source);
    const [videoTrack] = media.getVideoTracks();
    const [audioTrack] = media.getAudioTracks();
    if (!videoTrack) throw new Error("the source has no video track");
    const audioCodec = audioTrack ? await this.audioCodec() : null;

    const answer = await this.api("POST", "/stream/start/", {
      type: "hls",
      name,
      is_public: isPublic,
    });
    this.useCredentials(uploadTarget(answer));
    this.stream = answer.stream;
    this.media = media;

    const segmentFormat = new CmafOutputFormat();
    const format = new HlsOutputFormat({
      segmentFormat,
      targetDuration: this.options.segmentSeconds,
      live: true,
      getPlaylistPath: () => LAYOUT.playlist,
      getSegmentPath: (info) => LAYOUT.segment(info.n - 1),
      getInitPath: () => LAYOUT.init,
      onPlaylist: (content) => this.offerPlaylist(asEventPlaylist(content)),
    });
    // The master (mediabunny's root file) is not uploaded: with one rendition, the
    // stream's playlist is the media playlist itself, as broadcast-publish writes it.
    const target = new PathedTarget("master.m3u8", ({ path }) =>
      path.endsWith(".m3u8")
        ? new BufferTarget()
        : new BufferTarget({ onFinalize: (buffer) => this.enqueueMedia(path, buffer) }),
    );
    this.output = new Output({ format, target });
    this.videoSource = new MediaStreamVideoTrackSource(
      videoTrack,
      {
        codec: "avc",
        bitrate: this.options.videoBitrate,
        keyFrameInterval: this.options.segmentSeconds,
        latencyMode: "realtime",
      },
      { timestampBase: "unix" },
    );
    this.output.addVideoTrack(this.videoSource, {
      frameRate: this.options.frameRate,
      isRelativeToUnixEpoch: true,
    });
    if (audioTrack && audioCodec) {
      this.audioSource = new MediaStreamAudioTrackSource(
        audioTrack,
        { codec: audioCodec, bitrate: this.options.audioBitrate },
        { timestampBase: "unix" },
      );
      this.output.addAudioTrack(this.audioSource, { isRelativeToUnixEpoch: true });
    }
    for (const source of [this.videoSource, this.audioSource]) {
      source?.errorPromise.catch((error) => this.fail(error, true));
    }
    await this.output.start();
    this.posterTimer = this.options.posterSeconds > 0 ? this.startPosters(videoTrack) : null;
    this.emit("live", {
      stream: this.stream,
      playbackUrl: this.stream.playback_url,
      audioCodec,
      videoCodec: "avc",
    });
    return this.stream;
  }

  async capture(source) {
    if (source instanceof MediaStream) return source;
    const video = {
      width: { ideal: this.options.width },
      height: { ideal: this.options.height },
      frameRate: { ideal: this.options.frameRate },
    };
    if (source === "screen") return navigator.mediaDevices.getDisplayMedia({ video, audio: true });
    return navigator.mediaDevices.getUserMedia({ video, audio: true });
  }

  /** AAC where this browser can encode it (Safari, Edge on Windows), else Opus. */
  async audioCodec() {
    for (const codec of ["aac", "opus"]) {
      if (await canEncodeAudio(codec, { bitrate: this.options.audioBitrate })) return codec;
    }
    return null;
  }

  // -- uploads ---------------------------------------------------------------------------

  useCredentials(target) {
    this.target = target;
    this.client = new AwsClient({
      ...target.credentials,
      service: "s3",
      region: target.region,
      retries: 0, // our own retries, below, know when to refresh
    });
    clearTimeout(this.refreshTimer);
    const dueIn = (target.lifetime - refreshMargin(target.lifetime)) * 1000;
    this.refreshTimer = setTimeout(() => this.refresh(), Math.max(dueIn, 1000));
    this.emit("credentials", { expiresIn: target.lifetime });
  }

  async refresh() {
    if (this.stopped && this.finished) return;
    try {
      const answer = await this.api("POST", `/stream/${this.target.streamId}/credentials/`);
      this.useCredentials(uploadTarget(answer));
    } catch (error) {
      this.fail(error, false);
      this.refreshTimer = setTimeout(() => this.refresh(), 5000);
    }
  }

  enqueueMedia(path, buffer) {
    const name = path.split("/").pop();
    const queued = this.enqueue(name, new Uint8Array(buffer), () => {
      if (name === LAYOUT.init) return;
      this.segments += 1;
      this.emit("segment", { name, bytes: buffer.byteLength, index: this.segments - 1 });
    });
    this.enqueuedNames.add(name);
    this.offerPlaylist(this.pendingPlaylist);
    return queued;
  }

  /** Queue the newest playlist once every file it names is queued before it. */
  offerPlaylist(text) {
    if (text === null) return;
    this.pendingPlaylist = text;
    const named = text
      .split("\n")
      .map((line) => line.match(/^#EXT-X-MAP:URI="([^"]+)"/)?.[1] ?? line.trim())
      .filter((line) => line && !line.startsWith("#"));
    if (named.every((name) => this.enqueuedNames.has(name))) {
      this.pendingPlaylist = null;
      this.playlistQueued = this.enqueue(LAYOUT.playlist, text);
    }
  }

  /** Uploads run one at a time, in the order they were queued. */
  enqueue(name, body, done) {
    this.queued += 1;
    const queuedAt = performance.now();
    const run = async () => {
      await this.put(name, body);
      this.queued -= 1;
      this.emit("lag", { seconds: (performance.now() - queuedAt) / 1000, queued: this.queued });
      done?.();
    };
    this.queue = this.queue.then(run, run);
    return this.queue;
  }

  async put(name, body) {
    const [type, cacheControl] = CONTENT_TYPES[name.split(".").pop()] || [
      "application/octet-stream",
      "no-cache",
    ];
    const { endpoint, bucket, prefix } = this.target;
    const url = `${endpoint.replace(/\/+$/, "")}/${bucket}/${prefix}/${name}`;
    let delay = 250;
    let refreshed = false;
    for (let attempt = 1; ; attempt += 1) {
      let failure;
      try {
        const response = await this.client.fetch(url, {
          method: "PUT",
          body,
          headers: { "Content-Type": type, "Cache-Control": cacheControl },
        });
        if (response.ok) return;
        failure = new Error(`upload of ${name} answered ${response.status}`);
        if (response.status === 403 && !refreshed) {
          refreshed = true; // the credentials may have run out: once more, renewed
          await this.refresh();
          continue;
        }
        if (response.status === 403 || response.status === 404) throw failure;
      } catch (error) {
        if (error === failure) {
          this.fail(error, true);
          throw error;
        }
        failure = error;
      }
      if (attempt >= this.options.uploadAttempts) {
        this.fail(failure, true);
        throw failure;
      }
      this.fail(new Error(`${failure.message}; retry ${attempt} in ${delay} ms`), false);
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 4000);
    }
  }

  // -- the poster ------------------------------------------------------------------------

  startPosters(videoTrack) {
    const video = document.createElement("video");
    video.muted = true;
    video.playsInline = true;
    video.srcObject = new MediaStream([videoTrack]);
    video.play().catch(() => {});
    const canvas = document.createElement("canvas");
    const take = () => {
      if (!video.videoWidth) return;
      canvas.width = 640;
      canvas.height = Math.round((640 * video.videoHeight) / video.videoWidth);
      canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
      canvas.toBlob(
        async (blob) => {
          if (blob && !this.stopped) {
            const uploaded = this.enqueue(LAYOUT.poster, new Uint8Array(await blob.arrayBuffer()));
            uploaded.then(() => this.announcePoster(), () => {});
          }
        },
        "image/jpeg",
        0.8,
      );
    };
    setTimeout(take, 1500);
    return setInterval(take, this.options.posterSeconds * 1000);
  }

  /**
   * After a poster upload, until the server has taken one: `POST /stream/{id}/poster/`,
   * so the stream's `thumbnail_url` shows it. A failure waits for the next poster; a
   * server without the endpoint (404, 405) is not asked again.
   */
  async announcePoster() {
    if (this.posterAnnounced || this.announcing) return;
    this.announcing = true;
    try {
      const stream = await this.api("POST", `/stream/${this.target.streamId}/poster/`);
      this.posterAnnounced = true;
      this.emit("poster", { thumbnailUrl: stream.thumbnail_url });
    } catch (error) {
      this.posterAnnounced = error?.status === 404 || error?.status === 405;
      this.fail(error, false);
    } finally {
      this.announcing = false;
    }
  }

  // -- stop ------------------------------------------------------------------------------

  /** The last segment, the playlist with `#EXT-X-ENDLIST`, then the API's stop. */
  async stop() {
    if (this.stopped) return this.stream;
    this.stopped = true;
    clearInterval(this.posterTimer);
    try {
      await this.output.finalize();
      if (this.pendingPlaylist !== null) this.offerPlaylist(this.pendingPlaylist);
      await this.queue;
      if (this.pendingPlaylist !== null) throw new Error("the final playlist names a file never written");
    } finally {
      this.finished = true;
      clearTimeout(this.refreshTimer);
      for (const track of this.media?.getTracks() || []) track.stop();
    }
    const answer = await this.api("POST", "/stream/stop/", { id: this.target.streamId });
    this.stream = answer.stream;
    this.emit("stopped", { stream: answer.stream, segments: this.segments });
    return answer.stream;
  }

  // -- events ----------------------------------------------------------------------------

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  fail(error, fatal) {
    this.emit("error", { message: String(error?.message || error), fatal });
  }
}
