"""Print a demo question: the one marked "demo" in demo_questions.json, or with `research` the one marked
"demo" in research_questions.json; `make demo` asks the first and researches the second."""

import json
import sys
from pathlib import Path

questions = json.loads((Path(__file__).parent / "demo_questions.json").read_text(encoding="utf-8"))
if sys.argv[1:] == ["research"]:  # the research demo question is kept with the research benchmark's questions
    questions = json.loads((Path(__file__).parent / "research_questions.json").read_text(encoding="utf-8"))
print(next(q["question"] for q in questions if q.get("demo")))
