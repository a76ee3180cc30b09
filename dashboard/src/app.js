// The admin dashboard: live figures from `admin:stats` and the launch
// timeline from `admin:history`, drawn at most once per animation frame from
// the latest messages only, so a burst of messages costs one render and a
// hidden tab costs none.
import { AdminFeed, FeedState } from "./admin_feed.js";
import { cartsCsv, download, timelineCsv } from "./csv.js";
import { MovingNow } from "./moving.js";
import { RecentCarts } from "./recent_carts.js";
import { formatCount, renderCarts, renderMoving, renderNodes, renderPages, renderRecentCarts, renderSizeBars } from "./render.js";
import { Timeline } from "./timeline.js";
import { TimelineChart } from "./timeline_chart.js";
import { MAX_SIZE_COLUMNS, TOP_PAGES, TOP_PRODUCTS, cartsView, nodesView, pagesView } from "./views.js";

// How often "updated … s ago" moves on its own.
const CLOCK_TICK_MS = 1000;
// A screen reader hears the shoppers online at most this often, and only when
// the figure changed: politely, never on every tick.
const ANNOUNCE_EVERY_MS = 30 * 1000;

const STATE_TEXT = {
  [FeedState.connecting]: "connecting…",
  [FeedState.live]: "live",
  [FeedState.reconnecting]: "reconnecting…",
  [FeedState.expired]: "token expired",
  [FeedState.refused]: "refused",
};

const byId = (id) => document.getElementById(id);
const view = {
  state: byId("state"),
  signIn: byId("sign-in"),
  updated: byId("updated"),
  shoppers: byId("shoppers"),
  connections: byId("connections"),
  shoes: byId("shoes"),
  nodeCount: byId("node-count"),
  nodeNames: byId("node-names"),
  pages: byId("pages"),
  nodesCard: byId("nodes-card"),
  nodes: byId("nodes"),
  nodesSummary: byId("nodes-summary"),
  sizeBars: byId("size-bars"),
  carts: byId("carts"),
  recentToggle: byId("recent-toggle"),
  recentState: byId("recent-state"),
  recentBody: byId("recent-body"),
  recentCaption: byId("recent-caption"),
  recentCarts: byId("recent-carts"),
  announce: byId("announce"),
  peak: byId("peak"),
  timelineChart: byId("timeline-chart"),
  moving: byId("moving"),
  movingSpan: byId("moving-span"),
  zoom: [...document.querySelectorAll("[data-zoom]")],
};

const timeline = new Timeline();
const chart = new TimelineChart({ shoppers: view.timelineChart, activity: byId("activity-chart") });
const moving = new MovingNow();
const clock = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });

let latest = null; // the newest stats not drawn yet
let shownStats = null; // the stats drawn last (what the CSV holds)
let drawnTimeline = -1; // the timeline version drawn last
let lastUpdateMs = null;
let frameRequested = false;
let recent = null; // {feed, carts} while the recent carts are shown
let announced = { at: 0, text: "" };

function requestFrame() {
  if (frameRequested) return;
  frameRequested = true;
  requestAnimationFrame(drawFrame);
}

function drawFrame() {
  frameRequested = false;
  const now = Date.now();
  if (latest) {
    drawStats(latest);
    shownStats = latest;
    latest = null;
  }
  if (drawnTimeline !== timeline.version) {
    drawnTimeline = timeline.version;
    drawTimeline();
  }
  drawUpdated(now);
  announce(now);
  if (recent) renderRecentCarts(view.recentCarts, view.recentCaption, recent.carts.view(), now);
}

const countOf = (value) => (Number.isFinite(value) && value > 0 ? value : 0);

function drawStats(stats) {
  const nodes = Array.isArray(stats.nodes) ? stats.nodes.map(String) : [];
  const carts = cartsView(stats.carts, TOP_PRODUCTS, MAX_SIZE_COLUMNS, stats.carts_other);
  view.shoppers.textContent = formatCount(countOf(stats.shoppers));
  view.connections.textContent = formatCount(countOf(stats.connections));
  view.shoes.textContent = formatCount(carts.total);
  view.nodeCount.textContent = formatCount(nodes.length);
  view.nodeNames.textContent = nodes.join(", ");
  view.nodeNames.title = nodes.join(", ");
  renderPages(view.pages, pagesView(stats.pages, TOP_PAGES, stats.pages_other));
  renderNodes(view.nodesCard, view.nodes, view.nodesSummary, nodesView(stats.replicas, stats.nodes));
  renderSizeBars(view.sizeBars, carts);
  renderCarts(view.carts, carts);
  renderMoving(view.moving, moving.top());
  const minutes = Math.round(moving.span(Date.now()) / 60000);
  view.movingSpan.textContent = minutes >= 1 ? `most added to carts over the last ${minutes} min` : "most added to carts since this page opened";
}

function drawTimeline() {
  const series = timeline.series();
  chart.update(series);
  const { peak } = series;
  const text = peak.at > 0 ? `peak ${formatCount(peak.shoppers)} at ${clock.format(peak.at)}` : "";
  if (view.peak.textContent !== text) {
    view.peak.textContent = text;
    view.timelineChart.setAttribute("aria-label", `Shoppers online over time${text ? `, ${text}` : ""}`);
  }
}

function announce(now) {
  if (!shownStats || now - announced.at < ANNOUNCE_EVERY_MS) return;
  const text = `${formatCount(countOf(shownStats.shoppers))} shoppers online`;
  if (text === announced.text) return;
  announced = { at: now, text };
  view.announce.textContent = text;
}

function setZoom(zoom) {
  for (const button of view.zoom) button.setAttribute("aria-pressed", String(button.dataset.zoom === zoom));
  chart.setZoom(zoom);
}

function stamp() {
  return new Date().toISOString().replace(/[:.]/g, "-").slice(0, 19);
}

function drawUpdated(now) {
  if (lastUpdateMs === null) return;
  const seconds = Math.max(0, Math.round((now - lastUpdateMs) / 1000));
  view.updated.textContent = `updated ${clock.format(lastUpdateMs)} · ${seconds} s ago`;
  view.updated.dateTime = new Date(lastUpdateMs).toISOString();
}

function onStats(stats) {
  if (!stats || typeof stats !== "object") return;
  lastUpdateMs = Date.now();
  moving.record(lastUpdateMs, stats.carts);
  latest = stats;
  requestFrame();
}

function onHistory(payload) {
  if (timeline.add(payload)) requestFrame();
}

function onState(state, detail) {
  view.state.dataset.state = state;
  view.state.textContent = state === FeedState.refused && detail ? `refused: ${detail}` : STATE_TEXT[state];
  view.state.title = detail;
  view.signIn.hidden = state !== FeedState.expired;
  document.body.classList.toggle("stale", state !== FeedState.live);
}

function showRecentCarts(show) {
  view.recentToggle.textContent = show ? "Hide" : "Show";
  view.recentToggle.setAttribute("aria-expanded", String(show));
  view.recentBody.hidden = !show;
  view.recentState.textContent = "";
  if (!show) {
    recent?.feed.stop();
    recent = null;
    return;
  }
  const carts = new RecentCarts();
  const feed = new AdminFeed({
    endpoint: "/admin_socket",
    tokenUrl: "/admin/token",
    topic: "admin:cart_tracker",
    handlers: {
      presence_state: (state) => {
        carts.syncState(state);
        requestFrame();
      },
      presence_diff: (diff) => {
        carts.syncDiff(diff);
        requestFrame();
      },
    },
    onState: (state, detail) => {
      view.recentState.textContent = state === FeedState.live ? "" : STATE_TEXT[state];
      view.recentState.title = detail;
    },
  });
  recent = { feed, carts };
  feed.start();
  requestFrame();
}

view.recentToggle.addEventListener("click", () => showRecentCarts(recent === null));
for (const button of view.zoom) button.addEventListener("click", () => setZoom(button.dataset.zoom));
byId("carts-csv").addEventListener("click", () => download(`carts-${stamp()}.csv`, cartsCsv(shownStats)));
byId("timeline-csv").addEventListener("click", () => download(`timeline-${stamp()}.csv`, timelineCsv(timeline)));
view.signIn.addEventListener("click", () => location.reload());
setInterval(requestFrame, CLOCK_TICK_MS);

new AdminFeed({
  endpoint: "/admin_socket",
  tokenUrl: "/admin/token",
  topic: "admin:stats",
  handlers: { stats: onStats },
  onState,
  also: [{ topic: "admin:history", handlers: { history: onHistory } }],
}).start();
requestFrame();
