"""``genrank judge-check``: how well a judge agrees with HALoGEN's published labels."""

from __future__ import annotations

import json
import math
from pathlib import Path


def register(sub) -> None:
    from genrank.commands.options import batch_size

    p = sub.add_parser("judge-check",
                       help="run a judge on published HALoGEN responses; report its agreement "
                            "with the published labels (accuracy, Cohen's kappa, score)")
    p.add_argument("--judge", required=True, metavar="MODEL",
                   help="the judge: any --model string (alias, checkpoint folder, "
                        "openai:URL#NAME, vllm:PATH)")
    p.add_argument("--task", required=True,
                   help="a HALoGEN task judged by an LLM: halogen_biographies, "
                        "halogen_references, halogen_simplification, halogen_summarization")
    p.add_argument("--limit", type=int, help="first N prompts of the task (default: all)")
    p.add_argument("--published-model", action="append", metavar="NAME",
                   help="published model whose responses are judged (repeatable; default: all)")
    p.add_argument("--predictions",
                   help="published file or folder (default: halogen/model_hallucinations/"
                        "<domain> under GENRANK_DATA)")
    p.add_argument("--judge-max-new-tokens", type=int, metavar="N",
                   help="override the task's token limit for the judge")
    p.add_argument("--batch-size", type=batch_size, default=16,
                   help="prompts per forward pass, or 'auto'")
    p.add_argument("--device", help="cpu, cuda, cuda:1 ... (default: cuda if available)")
    p.add_argument("--dtype", default="auto", choices=["auto", "float32", "bfloat16", "float16"],
                   help="weights' dtype")
    p.add_argument("--concurrency", type=int, default=8,
                   help="openai: requests in flight at once (default: 8)")
    p.add_argument("--api-key-env", default="OPENAI_API_KEY",
                   help="openai: environment variable holding the API key (never recorded)")
    p.add_argument("-o", "--output", default="judge-check",
                   help="folder for <task>__<judge>.csv / .json (default: judge-check)")
    p.set_defaults(func=run)


def _fmt(x: float) -> str:
    return "undefined" if isinstance(x, float) and math.isnan(x) else f"{x:.4f}"


def run(args) -> int:
    from harness.data import resolve
    from harness.errors import GenrankError
    from harness.roles import load_judge, resolve_judge
    from harness.runner import RunOptions, make_verifier
    from harness.runs import slug
    from harness.spec import load_specs, select
    from suites.halogen.data import LAYOUT
    from suites.halogen.judge_check import agreement, decide, published_responses

    (spec,) = select(load_specs(), tasks=[args.task])[:1]
    domain = spec.loader_params.get("domain")
    if spec.suite != "halogen" or spec.verifier.name != "halogen_judge":
        raise GenrankError("not a HALoGEN task judged by an LLM (halogen_biographies, "
                           "halogen_references, halogen_simplification, halogen_summarization)",
                           file=spec.file, task=spec.name, field="--task")
    if args.limit is not None and args.limit < 1:
        raise GenrankError("--limit must be at least 1", task=spec.name, field="--limit")
    path = (Path(args.predictions) if args.predictions else
            resolve(f"halogen/model_hallucinations/{LAYOUT[domain][1]}", task=spec.name,
                    field="--predictions"))
    if not path.exists():
        raise GenrankError("predictions not found", file=str(path), task=spec.name,
                           field="--predictions")
    opts = RunOptions(judge=args.judge, judge_max_new_tokens=args.judge_max_new_tokens)
    verifier = make_verifier(spec, opts)
    responses = published_responses(spec, path, args.published_model, args.limit)
    identity = resolve_judge(args.judge)  # checked (and a server reached) before loading
    options = {"batch_size": args.batch_size, "device": args.device, "dtype": args.dtype,
               "concurrency": args.concurrency, "api_key_env": args.api_key_env}
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    judge = load_judge(args.judge, identity, options)
    verifier.use_judge(judge)
    decisions = decide(verifier, responses)
    table = agreement(decisions)

    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"{spec.name}__{slug(identity['name'])}"
    table.to_csv(stem.with_suffix(".csv"), index=False)
    report = {"task": spec.name, "predictions": str(path), "limit": args.limit,
              "judge": {**judge.describe(), "generation": verifier.judge_config().as_dict()},
              "judge_asked": judge.asked, "judge_reused": judge.reused,
              "unit": "response: supported / hallucinated (/ abstained where a response "
                      "without units is a refusal); phrase-abstained responses not asked",
              "agreement": table.to_dict(orient="records"),
              "decisions": decisions.drop(columns=["published_row", "judge_row"])
              .to_dict(orient="records")}
    stem.with_suffix(".json").write_text(json.dumps(_nan_to_none(report), indent=1,
                                                    default=str))
    shown = table.rename(columns={"judge_hallucination_score": "judge_score",
                                  "published_hallucination_score": "published_score"})
    shown = shown.drop(columns=["difference"]).astype(object)
    for col in ("accuracy", "kappa", "judge_score", "published_score"):
        shown[col] = [_fmt(float(x)) for x in shown[col]]
    print(shown.to_string(index=False))
    if table["kappa"].isna().any():
        print("kappa undefined: judge and published labels used one and the same label")
    print(f"judge {identity['model']}: asked {judge.asked}, cached {judge.reused}; "
          f"wrote {stem.with_suffix('.csv')} and .json")
    return 0


def _nan_to_none(value):
    """JSON has no NaN: an undefined figure is written as null."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _nan_to_none(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_nan_to_none(v) for v in value]
    return value
