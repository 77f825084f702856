"""Print the demo question (the one marked "demo" in demo_questions.json); `make demo` asks it."""

import json
from pathlib import Path

questions = json.loads((Path(__file__).parent / "demo_questions.json").read_text(encoding="utf-8"))
print(next(q["question"] for q in questions if q.get("demo")))
