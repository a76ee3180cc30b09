// The "recent carts" view over `admin:cart_tracker`: the stock client's
// Presence.syncState/syncDiff keep the server's presence list, and only the
// most recently active carts are drawn, never the whole list. Off until the
// admin asks for it, as the list is as long as the shoppers online.
import { Presence } from "phoenix";
import { topEntries } from "./views.js";

export const RECENT_CARTS = 20;

function loadedAt(meta) {
  return Number.isFinite(meta.page_loaded_at) ? meta.page_loaded_at : 0;
}

// The meta a cart was last active in.
function latestMeta(metas) {
  return metas.reduce((latest, meta) => (loadedAt(meta) > loadedAt(latest) ? meta : latest));
}

function* activity(state) {
  for (const cart in state) {
    const { metas } = state[cart];
    if (metas && metas.length > 0) yield [cart, loadedAt(latestMeta(metas))];
  }
}

export class RecentCarts {
  constructor() {
    this.state = Object.create(null);
  }

  syncState(serverState) {
    this.state = Presence.syncState(this.state, serverState);
  }

  syncDiff(diff) {
    this.state = Presence.syncDiff(this.state, diff);
  }

  // The `limit` carts with the latest page loads, latest first, and the
  // number of carts online.
  view(limit = RECENT_CARTS) {
    const { top, otherKeys } = topEntries(activity(this.state), limit);
    const rows = top.map(([cart, at]) => {
      const { metas } = this.state[cart];
      const meta = latestMeta(metas);
      const items = Array.isArray(meta.items) ? meta.items : [];
      return { cart, at, page: String(meta.page ?? ""), tabs: metas.length, items };
    });
    return { rows, carts: rows.length + otherKeys };
  }
}
