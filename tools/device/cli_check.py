"""The `glimpse` command line on the GPU machine: what a user runs, with --device cuda and auto.

Run by gpu-test.sh's part "cli" (bundle.sh + bundle-cli.sh give the runtime and the jars):

  python3 tools/device/cli_check.py --java JAVA --cp CLASSPATH --out DIR

On the parity fixtures (tiny random LLaVA-1.5 and LLaVA-OneVision checkpoints in fixtures/), each check a line
PASS/FAIL with its numbers, all of them in DIR/cli-check.jsonl:
  ask_tokens       `ask --json` greedy tokens on cuda and auto equal the CPU's (auto must log that it chose CUDA)
  ask_pruned       the same with --prune vtc-cls --budget 8 (the LLaVA fixture with F32 weights: with BF16 weights
                   the CUDA path rounds activations to bf16 where HF does and the CPU keeps F32, so a random model's
                   near-ties may differ late in the answer; on the H200, 2026-11-29, the 12th of 12 tokens did)
  logits_vs_hf     `logits --json` on cuda and cpu vs HF transformers (same input ids; argmax; max abs diffs)
  serve            `serve --device cuda`: ready after its warm-up, /v1/caption answers ask's tokens, /v1/model
                   names cuda, 413 over --max-request-bytes, 400 on bad JSON, SIGTERM ends it
  memory_budget    -Dglimpse.cuda.memory=1m: exit 1, one line naming the budget and the property, no stack trace
  no_device_cuda   CUDA_VISIBLE_DEVICES="": --device cuda exits 1 with one line
  no_device_auto   CUDA_VISIBLE_DEVICES="": --device auto answers on the CPU (the CPU's tokens), saying why
  tokenizer_cache  runs with and without a visible GPU share a fresh DJL cache in both orders, and a run without one
                   follows the layout DJL 0.36 alone leaves after a GPU run (<version>-cpu-linux-x86_64/<sm>/ with
                   the library, the parent without it, where DJL itself then failed to load): each answers the CPU's
                   tokens (NativeTokenizerLibrary)
  corrupt_image    a corrupt image with --device cuda: exit 1, one line
--no-cuda runs only what needs no GPU (to try the script on a CPU machine); --no-hf skips transformers.
Exit status 1 when any check failed.
"""

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LLAVA = ("llava", ROOT / "fixtures/llava-clip-llama-bf16", "shapes_45x61.png")
# F32 weights: the CPU and CUDA compute the same roundings (the BF16 fixture's CUDA path rounds activations to bf16
# where HF does, the CPU keeps F32), so their greedy tokens must agree however long the answer
LLAVA_F32 = ("llava-f32", ROOT / "fixtures/llava-clip-llama", "shapes_45x61.png")
ONEVISION = ("onevision", ROOT / "fixtures/llava-onevision-qwen2", "wide_90x50.png")
QUESTION = "Describe the picture."
NEW_TOKENS = 12

results = []


def record(check, ok, **details):
    line = {"check": check, "ok": bool(ok), **details}
    results.append(line)
    print(("PASS " if ok else "FAIL ") + check + " " + json.dumps(details, default=str)[:600], flush=True)


class Glimpse:
    def __init__(self, java, classpath, out):
        self.java, self.classpath, self.out = java, classpath, out
        self.runs = 0

    def command(self, args, jvm=()):
        return [self.java, "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                "-XX:+UseParallelGC", "-Dai.djl.offline=true", f"-Dglimpse.home={ROOT}", *jvm,
                "-cp", self.classpath, "dev.glimpse.app.Main", *args]

    @staticmethod
    def env(extra=None):
        env = dict(os.environ, RUST_FLAVOR="cpu", DJL_OFFLINE="true")
        env.update(extra or {})
        return env

    def run(self, args, jvm=(), env=None, timeout=300):
        p = subprocess.run(self.command(args, jvm), capture_output=True, text=True, env=self.env(env),
                           timeout=timeout, cwd=ROOT)
        err = "\n".join(l for l in p.stderr.splitlines() if not l.startswith("WARNING:"))
        self.runs += 1
        (self.out / f"run-{self.runs:02d}.log").write_text(
            f"args: {args}\njvm: {list(jvm)}\nenv: {env}\nexit: {p.returncode}\n--- stdout\n{p.stdout}\n--- stderr\n{p.stderr}")
        return p.returncode, p.stdout, err

    def ask(self, model, image, device, extra=(), env=None, jvm=()):
        code, out, err = self.run(["ask", "--model", str(model), "--image", str(model / image), "--device", device,
                                   "--max-new-tokens", str(NEW_TOKENS), "--json", *extra, QUESTION],
                                  jvm=jvm, env=env)
        answer = None
        if code == 0:
            try:
                answer = json.loads(out[out.index("{"):])
            except ValueError:
                pass
        return code, answer, err


def user_lines(err):
    """stderr lines a user sees (no log lines of the [LEVEL] form)."""
    return [l for l in err.splitlines() if l.strip() and not l.startswith("[")]


def check_ask(g, fixture, no_cuda):
    name, model, image = fixture
    code, cpu, err = g.ask(model, image, "cpu")
    if code != 0 or cpu is None:
        record(f"ask_tokens[{name}]", False, device="cpu", exit=code, stderr=err[-400:])
        return None, None
    if no_cuda:
        record(f"ask_tokens[{name}]", True, cpu=cpu["token_ids"], note="--no-cuda: cpu only")
        return cpu, None
    code_c, cuda, err_c = g.ask(model, image, "cuda")
    code_a, auto, err_a = g.ask(model, image, "auto", extra=("--verbose",))
    chose_cuda = "backend: cuda (--device auto" in err_a
    ok = (code_c == 0 and code_a == 0 and cuda is not None and auto is not None and chose_cuda
          and cuda["token_ids"] == cpu["token_ids"] and auto["token_ids"] == cpu["token_ids"])
    record(f"ask_tokens[{name}]", ok, cpu=cpu["token_ids"], cuda=cuda and cuda["token_ids"],
           auto=auto and auto["token_ids"], auto_chose_cuda=chose_cuda, exits=[code_c, code_a],
           stderr=(err_c + err_a)[-300:] if not ok else "")
    return cpu, cuda


def check_pruned(g, fixture, no_cuda):
    name, model, image = fixture
    extra = ("--prune", "vtc-cls", "--budget", "8")
    code, cpu, err = g.ask(model, image, "cpu", extra=extra)
    if no_cuda or code != 0:
        record(f"ask_pruned[{name}]", code == 0 and cpu is not None, cpu=cpu and cpu["token_ids"],
               stderr=err[-300:] if code else "")
        return
    code_c, cuda, err_c = g.ask(model, image, "cuda", extra=extra)
    ok = code_c == 0 and cuda is not None and cuda["token_ids"] == cpu["token_ids"] \
        and cuda["tokens"]["visual"] == cpu["tokens"]["visual"]
    first = next((i for i, (a, b) in enumerate(zip(cpu["token_ids"], cuda["token_ids"] if cuda else [])) if a != b), None)
    record(f"ask_pruned[{name}]", ok, cpu=cpu["token_ids"], cuda=cuda and cuda["token_ids"], first_difference=first,
           visual=cuda and cuda["tokens"]["visual"], stderr=err_c[-300:] if not ok else "")


def check_logits(g, fixture, no_cuda):
    sys.path.insert(0, str(ROOT / "tools" / "fixtures"))
    import torch
    from hf_logits import compare, hf_reference

    name, model, image = fixture
    ref = hf_reference(model, model / image, QUESTION)
    glimpse = {}
    for device in (("cpu",) if no_cuda else ("cpu", "cuda")):
        code, out, err = g.run(["logits", "--json", "--device", device, "--model", str(model), "--image",
                                str(model / image), "--prompt", ref.prompt])
        if code != 0:
            record(f"logits_vs_hf[{name}]", False, device=device, exit=code, stderr=err[-400:])
            return
        glimpse[device] = json.loads(out[out.index("{"):])
    details = {"prompt_tokens": len(ref.input_ids), "hf_argmax": int(ref.logits["f32"][0].argmax())}
    ok = True
    for device, answer in glimpse.items():
        row = details[device] = compare(answer, ref)
        ok &= row["input_ids_equal"] and (row["argmax_equal_hf_f32"] or row["argmax_equal_hf_saved"])
    if "cuda" in glimpse:
        a = torch.tensor(glimpse["cpu"]["last_logits"])
        b = torch.tensor(glimpse["cuda"]["last_logits"])
        details["max_abs_diff_cuda_vs_cpu"] = round((a - b).abs().max().item(), 6)
    record(f"logits_vs_hf[{name}]", ok, **details)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method, url, body=None, headers=None, timeout=60):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")
    except (urllib.error.URLError, ConnectionError, socket.timeout) as e:
        return None, str(e)


def multipart(fields, files):
    boundary = uuid.uuid4().hex
    parts = []
    for k, v in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode())
    for k, (filename, data) in files.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"; filename="{filename}"\r\n'
                     f'Content-Type: application/octet-stream\r\n\r\n'.encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def check_serve(g, expected, device):
    name, model, image = LLAVA
    port = free_port()
    log = open(g.out / "serve.log", "w")
    proc = subprocess.Popen(g.command(["serve", "--model", str(model), "--device", device, "--port", str(port),
                                       "--max-request-bytes", "200000"]),
                            stdout=log, stderr=subprocess.STDOUT, env=g.env(), cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    details = {}
    ok = True
    try:
        start = time.time()
        status = None
        while time.time() - start < 180 and proc.poll() is None:
            status, _ = http("GET", base + "/readyz", timeout=5)
            if status == 200:
                break
            time.sleep(0.5)
        details["ready_after_s"] = round(time.time() - start, 1)
        if status != 200:
            record(f"serve[{device}]", False, readyz=status, exit=proc.poll(), **details)
            return
        body, headers = multipart({"question": QUESTION, "max_new_tokens": str(NEW_TOKENS)},
                                  {"image": (image, (model / image).read_bytes())})
        status, text = http("POST", base + "/v1/caption", body, headers, timeout=120)
        caption = json.loads(text) if status == 200 else None
        details["caption"] = [status, caption and caption.get("token_ids")]
        ok &= status == 200 and expected is not None and caption["token_ids"] == expected["token_ids"]
        status, text = http("GET", base + "/v1/model")
        details["model"] = [status, text[:200]]
        ok &= status == 200 and device in text
        body, headers = multipart({"question": QUESTION}, {"image": ("big.png", os.urandom(300_000))})
        status, text = http("POST", base + "/v1/caption", body, headers)
        details["oversized"] = [status, text[:160]]
        ok &= status == 413
        status, text = http("POST", base + "/v1/caption", b"{bad json", {"Content-Type": "application/json"})
        details["bad_json"] = [status, text[:160]]
        ok &= status == 400
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            details["exit_after_sigterm"] = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            details["exit_after_sigterm"] = "killed after 60 s"
            ok = False
        log.close()
    record(f"serve[{device}]", ok, **details)


def check_errors(g, cpu_llava):
    name, model, image = LLAVA
    code, _, err = g.ask(model, image, "cuda", jvm=("-Dglimpse.cuda.memory=1m",))
    lines = user_lines(err)
    record("memory_budget", code == 1 and len(lines) == 1 and "budget" in lines[0] and "glimpse.cuda.memory" in lines[0]
           and "\tat " not in err, exit=code, lines=lines[:3])

    code, _, err = g.ask(model, image, "cuda", env={"CUDA_VISIBLE_DEVICES": ""})
    lines = user_lines(err)
    forced_ok = code == 1 and len(lines) == 1 and lines[0].startswith("glimpse: --device cuda") and "\tat " not in err
    code_a, auto, err_a = g.ask(model, image, "auto", extra=("--verbose",), env={"CUDA_VISIBLE_DEVICES": ""})
    fell_back = "backend: cpu (--device auto: CUDA unavailable" in err_a
    record("no_device_cuda", forced_ok, exit=code, lines=lines[:2])
    record("no_device_auto", code_a == 0 and fell_back and auto is not None
           and cpu_llava is not None and auto["token_ids"] == cpu_llava["token_ids"],
           exit=code_a, fell_back=fell_back,
           auto_reason=[l for l in err_a.splitlines() if "backend:" in l][:1], auto_lines=user_lines(err_a)[-3:])

    bad = g.out / "corrupt.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(4000))
    code, out, err = g.run(["ask", "--model", str(model), "--image", str(bad), "--device", "cuda", QUESTION])
    lines = user_lines(err)
    record("corrupt_image", code == 1 and len(lines) == 1 and "\tat " not in err, exit=code, lines=lines[:2])


def djl_tokenizers_version(classpath):
    """The native library's version in DJL's tokenizers jar (the jar that holds native/lib/tokenizers.properties)."""
    import zipfile
    for entry in classpath.split(os.pathsep):
        if entry.endswith(".jar"):
            with zipfile.ZipFile(entry) as z:
                if "native/lib/tokenizers.properties" in z.namelist():
                    text = z.read("native/lib/tokenizers.properties").decode()
                    return dict(l.split("=", 1) for l in text.splitlines() if "=" in l)["version"].strip()
    raise RuntimeError("no jar on the class path holds native/lib/tokenizers.properties")


def check_tokenizer_cache(g, cpu_llava):
    name, model, image = LLAVA
    gpu, none = ("visible", {}), ("hidden", {"CUDA_VISIBLE_DEVICES": ""})
    gpu_left = g.out / "djl-gpu-left"
    sm_folder = gpu_left / "tokenizers" / f"{djl_tokenizers_version(g.classpath)}-cpu-linux-x86_64" / "90"
    sm_folder.mkdir(parents=True, exist_ok=True)
    (sm_folder / "libtokenizers.so").write_bytes(b"left by a GPU run")
    cases = {"gpu_then_none": (g.out / "djl-gpu-first", [gpu, none]),
             "none_then_gpu": (g.out / "djl-none-first", [none, gpu]),
             "none_after_djl_gpu_layout": (gpu_left, [none])}
    details, ok = {}, cpu_llava is not None
    for case, (cache, runs) in cases.items():
        outcome = []
        for label, env in runs:
            code, answer, err = g.ask(model, image, "cpu", env=env, jvm=(f"-DENGINE_CACHE_DIR={cache}",))
            same = code == 0 and answer is not None and cpu_llava is not None \
                and answer["token_ids"] == cpu_llava["token_ids"]
            outcome.append({"gpu": label, "exit": code, "tokens_equal_cpu": same,
                            **({} if same else {"lines": user_lines(err)[-2:]})})
            ok &= same
        details[case] = outcome
    # The control, not part of the verdict: DJL alone (NativeTokenizerLibraryTest's probe) in the order that broke it
    control = g.out / "djl-alone"
    exits = []
    for label, env in (gpu, none):
        p = subprocess.run([g.java, f"-DENGINE_CACHE_DIR={control}", "-cp", g.classpath,
                            "dev.glimpse.vlmruntime.text.NativeTokenizerLibraryTest$Probe", "djl", str(model)],
                           capture_output=True, text=True, env=g.env(env), timeout=120)
        exits.append({"gpu": label, "exit": p.returncode, "tail": p.stdout.strip()[-80:] + p.stderr.strip()[-160:]})
    details["djl_alone_control"] = {"runs": exits, "cache": sorted(str(q.relative_to(control))
                                                                  for q in control.rglob("libtokenizers.so"))}
    record("tokenizer_cache", ok, **details)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--java", required=True)
    ap.add_argument("--cp", required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--no-cuda", action="store_true")
    ap.add_argument("--no-hf", action="store_true")
    ap.add_argument("--only", default="", help="comma-separated check names (ask_tokens, ask_pruned, logits_vs_hf, "
                                                "serve, errors, tokenizer_cache); default all")
    args = ap.parse_args()
    only = set(filter(None, args.only.split(",")))
    wanted = lambda name: not only or name in only
    args.out.mkdir(parents=True, exist_ok=True)
    g = Glimpse(args.java, args.cp, args.out)
    checks = []
    if wanted("ask_pruned"):
        checks.append(("ask_pruned", lambda: check_pruned(g, LLAVA_F32, args.no_cuda)))
    asked = {}
    for fixture in (LLAVA, ONEVISION):
        asked[fixture[0]] = (None, None)
        if not (wanted("ask_tokens") or (fixture is LLAVA and (wanted("serve") or wanted("errors")
                                                                or wanted("tokenizer_cache")))):
            continue
        try:
            asked[fixture[0]] = check_ask(g, fixture, args.no_cuda)
        except Exception as e:  # a check that breaks is a failed check, the others still run
            record(f"ask_tokens[{fixture[0]}]", False, error=repr(e))
    if not args.no_hf and wanted("logits_vs_hf"):
        for fixture in (LLAVA, ONEVISION):
            checks.append((f"logits_vs_hf[{fixture[0]}]", lambda f=fixture: check_logits(g, f, args.no_cuda)))
    cpu_llava, cuda_llava = asked["llava"]
    if wanted("serve"):
        checks.append(("serve", lambda: check_serve(g, cpu_llava if args.no_cuda else cuda_llava,
                                                    "cpu" if args.no_cuda else "cuda")))
    if not args.no_cuda and wanted("errors"):
        checks.append(("errors", lambda: check_errors(g, cpu_llava)))
    if wanted("tokenizer_cache"):
        checks.append(("tokenizer_cache", lambda: check_tokenizer_cache(g, cpu_llava)))
    for name, check in checks:
        try:
            check()
        except Exception as e:
            record(name, False, error=repr(e))
    with open(args.out / "cli-check.jsonl", "w") as f:
        for line in results:
            f.write(json.dumps(line, default=str) + "\n")
    failed = [r["check"] for r in results if not r["ok"]]
    print(f"cli checks: {len(results) - len(failed)} passed, {len(failed)} failed" + (f": {failed}" if failed else ""))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
