extension TraceHTMLPage {
    /// The view's script. It reads the data element once into typed arrays,
    /// keeps one sorted index array per track, and on each draw finds the
    /// items in view by binary search: a track with more items in view than
    /// the plot has pixel columns is drawn as per-pixel counts
    /// (aggregate), otherwise item by item. `window.vmrrTimeline` exposes
    /// the state for tests (docs/TIMELINE.md).
    static let script = #"""
    "use strict";
    (function () {
    const D = JSON.parse(document.getElementById("vmrr-data").textContent);
    const n = D.k.length;
    const start = new Float64Array(n);
    let acc = 0;
    for (let i = 0; i < n; i++) { acc += D.t[i]; start[i] = acc; }
    const endOf = (i) => (i + 1 < n ? start[i + 1] : start[i] + D.lastDur);
    const total = Math.max(n ? endOf(n - 1) : 1, 1);
    const palette = ["#3b6fd4", "#d9822b", "#2f9e6e", "#b8458f", "#8c6d1f", "#5a5fcf", "#c23b3b", "#268a9e",
                     "#7a8b2c", "#9b59b6", "#e67e22", "#16a085", "#c0392b", "#2c3e50", "#7f8c8d"];
    const tracks = D.kinds.map((info, ti) => ({ info, color: palette[ti % palette.length], idx: null, count: 0, mode: "items", visible: 0 }));
    const perTrack = new Int32Array(tracks.length);
    for (let i = 0; i < n; i++) perTrack[D.k[i]]++;
    tracks.forEach((t, ti) => { t.idx = new Int32Array(perTrack[ti]); });
    for (let i = 0; i < n; i++) { const t = tracks[D.k[i]]; t.idx[t.count++] = i; }
    const clockTrack = tracks.find((t) => t.info.name === "clock");
    const rows = tracks.map((t) => ({ track: t, counter: false }));
    if (clockTrack) rows.push({ track: clockTrack, counter: true });

    const canvas = document.getElementById("canvas");
    const card = document.getElementById("card");
    const status = document.getElementById("status");
    const ctx = canvas.getContext("2d");
    const gutter = 150, rowH = 26, top = 8, axisH = 26;
    let v0 = 0, v1 = total, width = 800;
    const drag = { active: false, x: 0, v0: 0, v1: 0 };

    function hexOf(x) { return typeof x === "string" ? x : "0x" + x.toString(16); }
    function fmt(x, how) { return how === "hex" ? hexOf(x) : String(x); }
    function usec(ns) { return (ns / 1000).toFixed(3) + " µs"; }
    function timeLabel(ns) {
      if (D.axis === "events") return "event " + Math.round(ns / 1000);
      if (ns >= 1e9) return (ns / 1e9).toFixed(3) + " s";
      if (ns >= 1e6) return (ns / 1e6).toFixed(3) + " ms";
      return (ns / 1e3).toFixed(1) + " µs";
    }
    // First position in a track's index array whose item ends at or after t.
    function firstEndingAfter(idx, t) {
      let lo = 0, hi = idx.length;
      while (lo < hi) { const mid = (lo + hi) >> 1; if (endOf(idx[mid]) < t) lo = mid + 1; else hi = mid; }
      return lo;
    }
    // First position whose item starts after t.
    function firstStartingAfter(idx, t) {
      let lo = 0, hi = idx.length;
      while (lo < hi) { const mid = (lo + hi) >> 1; if (start[idx[mid]] <= t) lo = mid + 1; else hi = mid; }
      return lo;
    }
    function plotW() { return Math.max(10, width - gutter - 8); }
    function xOf(t) { return gutter + (t - v0) * plotW() / (v1 - v0); }
    function tOf(x) { return v0 + (x - gutter) * (v1 - v0) / plotW(); }

    function resize() {
      width = canvas.parentElement.clientWidth;
      const h = top + rows.length * rowH + axisH;
      const dpr = window.devicePixelRatio || 1;
      canvas.width = Math.round(width * dpr); canvas.height = Math.round(h * dpr);
      canvas.style.height = h + "px";
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    }

    function drawTrack(row, y) {
      const t = row.track, pw = plotW(), idx = t.idx;
      const lo = firstEndingAfter(idx, v0), hi = firstStartingAfter(idx, v1);
      t.visible = Math.max(0, hi - lo);
      ctx.fillStyle = t.color;
      if (t.visible > pw) {
        t.mode = "aggregate";
        const buckets = new Float64Array(pw);
        const scale = pw / (v1 - v0);
        for (let j = lo; j < hi; j++) {
          const x = Math.floor((start[idx[j]] - v0) * scale);
          if (x >= 0 && x < pw) buckets[x]++;
        }
        let max = 1;
        for (let x = 0; x < pw; x++) if (buckets[x] > max) max = buckets[x];
        const lmax = Math.log1p(max);
        for (let x = 0; x < pw; x++) {
          if (!buckets[x]) continue;
          const h = Math.max(2, (rowH - 6) * Math.log1p(buckets[x]) / lmax);
          ctx.fillRect(gutter + x, y + rowH - 3 - h, 1, h);
        }
        return;
      }
      t.mode = "items";
      for (let j = lo; j < hi; j++) {
        const i = idx[j], x0 = xOf(start[i]);
        if (t.info.slice) {
          const x1 = xOf(endOf(i));
          ctx.fillRect(Math.max(gutter, x0), y + 4, Math.max(1.5, Math.min(x1, gutter + pw) - Math.max(gutter, x0)), rowH - 8);
        } else {
          ctx.beginPath();
          ctx.moveTo(x0, y + 4); ctx.lineTo(x0 + 4, y + rowH / 2); ctx.lineTo(x0, y + rowH - 4); ctx.lineTo(x0 - 4, y + rowH / 2);
          ctx.fill();
        }
      }
    }

    // The clock as steps: each read's value holds until the next read.
    function drawCounter(row, y) {
      const idx = row.track.idx;
      if (!idx.length) return;
      const lo = Math.max(0, firstEndingAfter(idx, v0) - 1), hi = Math.min(idx.length, firstStartingAfter(idx, v1) + 1);
      const maxV = Number(D.v[idx[idx.length - 1]]) || 1, right = gutter + plotW();
      const clampX = (x) => Math.min(Math.max(x, gutter), right);
      ctx.strokeStyle = row.track.color; ctx.lineWidth = 2; ctx.beginPath();
      const step = Math.max(1, Math.floor((hi - lo) / (plotW() * 2)));
      for (let j = lo; j < hi; j += step) {
        const i = idx[j], next = j + step < idx.length ? start[idx[j + step]] : total;
        const yy = y + rowH - 4 - (rowH - 8) * (Number(D.v[i]) / maxV);
        if (j === lo) ctx.moveTo(clampX(xOf(start[i])), yy); else ctx.lineTo(clampX(xOf(start[i])), yy);
        ctx.lineTo(clampX(xOf(next)), yy);
      }
      ctx.stroke(); ctx.lineWidth = 1;
    }

    function drawAxis(y) {
      ctx.fillStyle = "#555"; ctx.strokeStyle = "#ccd"; ctx.font = "11px system-ui, sans-serif";
      const ticks = 6;
      for (let k = 0; k <= ticks; k++) {
        const x = gutter + plotW() * k / ticks;
        ctx.beginPath(); ctx.moveTo(x, top); ctx.lineTo(x, y + 4); ctx.stroke();
        ctx.fillText(timeLabel(tOf(x)), Math.min(x + 2, width - 70), y + 16);
      }
    }

    function divergenceTime() {
      const d = D.divergence;
      if (!d) return null;
      return d.index < n ? start[d.index] : total;
    }

    function draw() {
      ctx.clearRect(0, 0, width, canvas.height);
      ctx.font = "12px system-ui, sans-serif";
      rows.forEach((row, r) => {
        const y = top + r * rowH;
        ctx.fillStyle = r % 2 ? "#fafbfc" : "#fff"; ctx.fillRect(0, y, width, rowH);
        ctx.fillStyle = "#1d2330";
        ctx.fillText(row.counter ? "paravirtual clock" : row.track.info.track, 8, y + 17);
        if (row.counter) drawCounter(row, y); else drawTrack(row, y);
      });
      const axisY = top + rows.length * rowH;
      drawAxis(axisY);
      const dt = divergenceTime();
      if (dt !== null && dt >= v0 && dt <= v1) {
        const x = xOf(dt);
        ctx.strokeStyle = "#d9534f"; ctx.lineWidth = 2;
        ctx.beginPath(); ctx.moveTo(x, 0); ctx.lineTo(x, axisY); ctx.stroke(); ctx.lineWidth = 1;
      }
      const shown = tracks.reduce((s, t) => s + t.visible, 0);
      const aggregated = tracks.filter((t) => t.mode === "aggregate").length;
      canvas.dataset.mode = aggregated === 0 ? "items" : aggregated === tracks.length ? "aggregate" : "mixed";
      status.textContent = shown + " events in view, " + timeLabel(v0) + " to " + timeLabel(v1) +
        (aggregated ? " (" + aggregated + " tracks as counts per pixel: zoom in for single events)" : " (single events)");
    }

    function setView(a, b) {
      const minSpan = Math.min(total, 50);
      if (b - a < minSpan) { const c = (a + b) / 2; a = c - minSpan / 2; b = c + minSpan / 2; }
      if (b - a > total) { a = 0; b = total; }
      if (a < 0) { b -= a; a = 0; }
      if (b > total) { a -= b - total; b = total; }
      v0 = Math.max(0, a); v1 = b;
      draw();
    }
    function zoom(factor, atX) {
      const c = tOf(atX === undefined ? gutter + plotW() / 2 : atX);
      setView(c - (c - v0) * factor, c + (v1 - c) * factor);
    }

    // The item under (x, y) in canvas coordinates: an event index, or a count in aggregate mode.
    function hit(x, y) {
      const r = Math.floor((y - top) / rowH);
      if (r < 0 || r >= rows.length || x < gutter) return null;
      const row = rows[r], t = row.track, idx = t.idx, at = tOf(x), slack = 5 * (v1 - v0) / plotW();
      if (!row.counter && t.mode === "aggregate") {
        const lo = firstEndingAfter(idx, at - slack / 10), hi = firstStartingAfter(idx, at + slack / 10);
        return { aggregate: true, track: t, count: Math.max(0, hi - lo) };
      }
      const lo = firstEndingAfter(idx, at - slack), hi = firstStartingAfter(idx, at + slack);
      let best = -1, bestD = Infinity;
      for (let j = lo; j < hi; j++) {
        const i = idx[j];
        const inside = t.info.slice && !row.counter && start[i] <= at && at <= endOf(i);
        const d = inside ? 0 : Math.abs(start[i] - at);
        if (d < bestD) { bestD = d; best = i; }
      }
      return best < 0 ? null : { index: best, track: t };
    }

    function cardText(i) {
      const info = D.kinds[D.k[i]], f = D.f[i], lines = [];
      lines.push("event " + i + "  " + info.name + (info.exit ? " exit" : ""));
      lines.push("time  " + (D.axis === "events" ? "event " + i : usec(start[i])) +
                 (info.slice ? "  (" + usec(endOf(i) - start[i]) + " until the next event)" : ""));
      const sym = D.syms[D.r[i]];
      lines.push("rip   " + D.rips[D.r[i]] + (sym ? "  " + sym : ""));
      if (info.addrFmt !== "none") lines.push(info.addr + "  " + fmt(D.a[i], info.addrFmt));
      const size = f & 15, dir = (f >> 4) & 3;
      if (size || dir) lines.push((size ? "size " + size + "  " : "") + (dir ? (dir === 2 ? "write" : "read") : ""));
      if (info.valueFmt !== "none") lines.push(info.value + "  " + fmt(D.v[i], info.valueFmt));
      if (f & 64) lines.push("fault #GP");
      const d = D.divergence;
      if (d && d.index === i) {
        lines.push("", "replay diverged here: " + d.reason, "recorded: " + (d.recorded || "nothing (end of journal)"), "replayed: " + d.replayed);
      }
      return lines.join("\n");
    }

    function showCard(x, y) {
      const h = hit(x, y);
      if (!h) { card.hidden = true; delete card.dataset.index; return; }
      if (h.aggregate) {
        card.textContent = h.count + " " + h.track.info.track + " here\nzoom in for single events";
        delete card.dataset.index;
      } else {
        card.textContent = cardText(h.index);
        card.dataset.index = String(h.index);
      }
      card.hidden = false;
      card.style.left = Math.min(x + 14, width - card.offsetWidth - 4) + "px";
      card.style.top = (y + 14) + "px";
    }

    function canvasPoint(e) { const b = canvas.getBoundingClientRect(); return [e.clientX - b.left, e.clientY - b.top]; }
    canvas.addEventListener("wheel", (e) => {
      e.preventDefault();
      const [x] = canvasPoint(e);
      zoom(Math.exp(Math.max(-2, Math.min(2, e.deltaY * 0.002))), x);
    }, { passive: false });
    canvas.addEventListener("mousedown", (e) => { drag.active = true; drag.x = e.clientX; drag.v0 = v0; drag.v1 = v1; });
    window.addEventListener("mouseup", () => { drag.active = false; });
    canvas.addEventListener("mousemove", (e) => {
      const [x, y] = canvasPoint(e);
      if (drag.active && e.buttons) {
        const dt = (e.clientX - drag.x) * (drag.v1 - drag.v0) / plotW();
        setView(drag.v0 - dt, drag.v1 - dt);
      }
      showCard(x, y);
    });
    canvas.addEventListener("mouseleave", () => { card.hidden = true; });
    document.getElementById("zoom-in").onclick = () => zoom(0.5);
    document.getElementById("zoom-out").onclick = () => zoom(2);
    document.getElementById("zoom-reset").onclick = () => setView(0, total);
    window.addEventListener("keydown", (e) => {
      if (e.key === "+" || e.key === "=") zoom(0.5);
      else if (e.key === "-") zoom(2);
      else if (e.key === "0") setView(0, total);
      else if (e.key === "ArrowLeft") setView(v0 - (v1 - v0) / 4, v1 - (v1 - v0) / 4);
      else if (e.key === "ArrowRight") setView(v0 + (v1 - v0) / 4, v1 + (v1 - v0) / 4);
    });
    window.addEventListener("resize", () => { resize(); draw(); });

    function fillSummary() {
      document.getElementById("meta").textContent = D.journal + ": " + n + " events, " + rows.length + " tracks, clock " + D.clock +
        ", axis " + D.axis + " (" + D.placement + ")";
      const body = document.querySelector("#counts tbody");
      tracks.forEach((t) => {
        const tr = body.insertRow();
        tr.dataset.kind = t.info.name;
        const c0 = tr.insertCell(), sw = document.createElement("span");
        sw.className = "swatch"; sw.style.background = t.color;
        c0.append(sw, t.info.name);
        const c1 = tr.insertCell(); c1.className = "n"; c1.textContent = String(t.count);
      });
      document.getElementById("rate").textContent = D.exitsPerSecond === null
        ? "exits per second of guest time: - (no guest time on this axis)"
        : "exits per second of guest time: " + D.exitsPerSecond;
      const hot = document.querySelector("#hottest tbody");
      D.hottest.forEach(([rip, sym, exits]) => {
        const tr = hot.insertRow();
        tr.insertCell().textContent = rip; tr.insertCell().textContent = sym || "-";
        const c = tr.insertCell(); c.className = "n"; c.textContent = String(exits);
      });
      if (D.truncated) { const b = document.getElementById("truncated"); b.hidden = false; b.textContent = "Truncated: " + D.truncated; }
      const d = D.divergence;
      if (d) {
        const b = document.getElementById("divergence"); b.hidden = false;
        b.textContent = "Replay diverged at event " + d.index + ": " + d.reason;
        const pre = document.createElement("pre");
        pre.textContent = "recorded: " + (d.recorded || "nothing (end of journal)") + "\nreplayed: " + d.replayed +
          (d.registers.length ? "\n" + d.registers.join("\n") : "");
        b.append(pre);
        const go = document.getElementById("zoom-divergence"); go.hidden = false;
        go.onclick = () => { const t = divergenceTime(), s = Math.max(50, 40 * (total / Math.max(n, 1))); setView(t - s, t + s); };
      }
    }

    // For tests and tools: the state of the view, and canvas points of items.
    window.vmrrTimeline = {
      events: n, tracks: rows.length,
      kind(i) { return D.kinds[D.k[i]].name; },
      counts() { const o = {}; tracks.forEach((t) => { o[t.info.name] = (o[t.info.name] || 0) + t.count; }); return o; },
      view() { return { start: v0, end: v1, total, mode: canvas.dataset.mode, modes: tracks.map((t) => t.mode) }; },
      setView,
      divergenceTime,
      // The page coordinates of an item's middle (its track's row), or null when it is not in view.
      itemPoint(i) {
        const ti = D.k[i], b = canvas.getBoundingClientRect(), s = start[i];
        if (s < v0 || s > v1) return null;
        const x = tracks[ti].info.slice ? (xOf(s) + Math.min(xOf(endOf(i)), gutter + plotW())) / 2 : xOf(s);
        return { x: b.left + x, y: b.top + top + ti * rowH + rowH / 2 };
      },
      plotCenter() { const b = canvas.getBoundingClientRect(); return { x: b.left + gutter + plotW() / 2, y: b.top + top + rowH / 2 }; },
    };
    resize();
    fillSummary();
    draw();
    document.body.dataset.readyMs = performance.now().toFixed(1);
    document.body.dataset.ready = "1";
    })();
    """#
}
