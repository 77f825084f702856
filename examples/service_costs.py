"""A second tool beside the knowledge base: running costs of our services, in a SQLite table.

The knowledge base says which service does what and who owns it; only this table knows what each
service costs. "What did the service that sends shipment notifications cost to run in October 2026?"
needs both.

    python examples/service_costs.py                 # after `make demo` (uses its index)
    python examples/service_costs.py "another question"
"""

from __future__ import annotations

import re
import sqlite3
import sys
from pathlib import Path

QUESTION = "What did the service that sends shipment notifications cost to run in October 2026?"

# Our own invented figures, in euros per month.
COSTS = [
    ("parcel-pulse", "2026-09", 18_240), ("parcel-pulse", "2026-10", 19_870),
    ("routeweaver", "2026-09", 31_400), ("routeweaver", "2026-10", 30_950),
    ("ledgerline", "2026-09", 12_100), ("ledgerline", "2026-10", 12_480),
    ("scanloom", "2026-09", 7_330), ("scanloom", "2026-10", 7_910),
    ("wayfarer", "2026-09", 9_020), ("wayfarer", "2026-10", 8_760),
]


def create_costs_db(path: str | Path) -> Path:
    """Write the cost table to a SQLite file (replacing an older one) and return its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as db:
        db.execute("DROP TABLE IF EXISTS service_costs")
        db.execute("CREATE TABLE service_costs (service TEXT, month TEXT, cost_eur INTEGER)")
        db.executemany("INSERT INTO service_costs VALUES (?, ?, ?)", COSTS)
    return path


def cost_lookup(db_path: str | Path):
    """A plain typed function the agent can call: it finds the service names mentioned in a query."""

    def service_costs(query: str) -> list[dict]:
        """Monthly running costs in euros of our services, looked up by service name (e.g. 'parcel-pulse')."""
        words = set(re.findall(r"[\w-]+", query.lower()))
        with sqlite3.connect(db_path) as db:
            services = [row[0] for row in db.execute("SELECT DISTINCT service FROM service_costs")]
            named = [s for s in services if s in words]
            rows = db.execute(
                f"SELECT service, month, cost_eur FROM service_costs WHERE service IN ({','.join('?' * len(named))}) "
                "ORDER BY service, month",
                named,
            ).fetchall() if named else []
        return [
            {"text": f"{service} cost {cost:,} EUR to run in {month}.", "source": f"service_costs/{service}/{month}",
             "id": f"service_costs:{service}:{month}"}
            for service, month, cost in rows
        ]

    return service_costs


def main() -> None:
    from agentic_rag import Agent, KnowledgeBase, default_embeddings

    question = sys.argv[1] if len(sys.argv) > 1 else QUESTION
    kb = KnowledgeBase.load(".agentic-rag/demo-index", default_embeddings())
    costs = cost_lookup(create_costs_db(".agentic-rag/service_costs.sqlite"))
    agent = Agent("local", knowledge_base=kb, tools=[costs])
    answer = agent.ask(question)
    print(answer.text)
    for c in answer.citations:
        print(f"  [{c.marker}] {c.source}: {c.quote}")
    print(answer.exit_reason.value, answer.usage)


if __name__ == "__main__":
    main()
