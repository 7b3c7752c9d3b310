// Live view of a running drill: poll its /live JSON every 2 s (bounded), update the table.
"use strict";
(function () {
  const root = document.getElementById("drill");
  if (!root || root.dataset.state !== "running") return;
  const url = root.dataset.live;
  let polls = 0;
  const MAX_POLLS = 5400; // three hours at 2 s
  function cell(text) { const td = document.createElement("td"); td.textContent = text; return td; }
  async function refresh() {
    polls += 1;
    let data;
    try {
      const r = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!r.ok) return;
      data = await r.json();
    } catch (e) { return; }
    const body = document.querySelector("#drill-acks tbody");
    body.replaceChildren(...data.acks.map((a) => {
      const tr = document.createElement("tr");
      tr.append(cell(a.user), cell(a.channel), cell(a.time), cell(a.after_s === null ? "-" : String(a.after_s)));
      return tr;
    }));
    document.getElementById("drill-alerts").textContent = String(data.alerts);
    document.getElementById("drill-missing").textContent = data.missing.join(", ") || "-";
    if (data.state !== "running") {
      document.getElementById("drill-state").textContent = root.dataset.stopped;
      root.dataset.state = data.state;
      const live = document.getElementById("drill-live");
      if (live) live.remove();
      const stop = document.getElementById("stop-drill");
      if (stop) stop.remove();
      return;
    }
    if (polls < MAX_POLLS) setTimeout(refresh, 2000);
  }
  setTimeout(refresh, 2000);
})();
