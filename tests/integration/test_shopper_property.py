"""Property: for any sequence of shopper joins, updates, leaves and socket
closes, an admin's presence and stats equal a model of the open tabs after
every step (docs/PROTOCOL.md sections 6 to 8)."""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import AdminView, Shopper, expected_stats

SUBS = ["cart-a", "cart-b", "cart-c"]
PAGES = ["/", "/sale", "/products/air-max-90"]

items = st.lists(
    st.fixed_dictionaries(
        {
            "product": st.sampled_from(["air-max-90", "pegasus"]),
            "size": st.sampled_from(["9", "10", "10.5"]),
            "qty": st.integers(min_value=1, max_value=99),
        }
    ),
    max_size=3,
    # docs/PROTOCOL.md does not say whether two lines of one product and size
    # stay two lines or merge into one; the model leaves that case out.
    unique_by=lambda line: (line["product"], line["size"]),
)
meta = st.fixed_dictionaries({"page": st.sampled_from(PAGES), "items": items})
operation = st.one_of(
    st.tuples(st.just("join"), st.sampled_from(SUBS), meta),
    st.tuples(st.just("update"), st.integers(min_value=0, max_value=7), meta),
    st.tuples(st.just("leave"), st.integers(min_value=0, max_value=7)),
    st.tuples(st.just("close"), st.integers(min_value=0, max_value=7)),
)


@settings(
    max_examples=25,
    database=None,
    deadline=None,
    # One server for every example: each example ends with no tab open.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(operations=st.lists(operation, min_size=1, max_size=8))
def test_admin_view_matches_model_after_every_step(nginx, operations):
    admin = AdminView(nginx)
    tabs = []  # (Shopper, meta) in the order their metas were last set

    def check():
        model = {}
        for tab, payload in tabs:
            model.setdefault(tab.sub, []).append(payload)
        admin.wait_for_stats(expected_stats(model))
        admin.wait_for_counts({sub: len(payloads) for sub, payloads in model.items()})
        for sub, payloads in model.items():
            seen = sorted(json.dumps([m["page"], m["items"]], sort_keys=True) for m in admin.metas(sub))
            assert seen == sorted(json.dumps([p["page"], p["items"]], sort_keys=True) for p in payloads)

    try:
        for op in operations:
            kind = op[0]
            if kind == "join":
                tabs.append((Shopper(nginx, op[1], op[2]), op[2]))
            elif not tabs:
                continue
            else:
                tab, _ = tabs.pop(op[1] % len(tabs))
                if kind == "update":
                    tab.update(op[2])
                    tabs.append((tab, op[2]))
                elif kind == "leave":
                    tab.leave()
                    tab.close()
                else:
                    tab.close()
            check()
    finally:
        for tab, _ in tabs:
            tab.close()
        admin.wait_for_counts({})
        admin.close()
