"""Runs Helm's own lint and install (through the helm-sdkpy bindings) on a chart.

    helm_driver.py lint CHART
    helm_driver.py install CHART --kubeconfig FILE --namespace NS --release NAME [--values JSON]

Prints one JSON object on stdout: {"ok": true, "result": ...} or
{"ok": false, "error": "..."}; the exit code is 0 on success, 1 when Helm reported
an error, 2 on a usage error. Lint is strict: a warning fails like an error.
"""

import argparse
import asyncio
import json
import sys

import helm_sdkpy


# Helm's support.Severity values.
SEVERITIES = {0: "unknown", 1: "info", 2: "warning", 3: "error"}


def lint(chart: str) -> dict:
    config = helm_sdkpy.Configuration(namespace="default")
    result = asyncio.run(helm_sdkpy.Lint(config).run(chart))
    # The bindings drop the Go error text; the path and severity remain.
    findings = [
        {"severity": SEVERITIES.get(m.get("Severity"), "unknown"), "path": m.get("Path")}
        for m in result.get("Messages") or []
    ]
    failed = [f for f in findings if f["severity"] in ("warning", "error")]
    if failed:
        raise helm_sdkpy.ChartError(f"lint failed: {json.dumps(failed)}")
    return {"charts": result.get("TotalChartsLinted"), "findings": findings}


def install(args: argparse.Namespace) -> dict:
    config = helm_sdkpy.Configuration(namespace=args.namespace, kubeconfig=args.kubeconfig)
    values = json.loads(args.values) if args.values else None
    release = asyncio.run(
        helm_sdkpy.Install(config).run(
            args.release,
            args.chart,
            values=values,
            create_namespace=True,
            wait=False,
            timeout=120,
        )
    )
    info = release.get("info") or {}
    return {
        "name": release.get("name"),
        "namespace": release.get("namespace"),
        "version": release.get("version"),
        "status": info.get("status"),
        "notes": info.get("notes"),
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("action", choices=["lint", "install"])
    parser.add_argument("chart")
    parser.add_argument("--kubeconfig")
    parser.add_argument("--namespace", default="default")
    parser.add_argument("--release", default="chatgroup-operator")
    parser.add_argument("--values", help="values as a JSON object")
    args = parser.parse_args()
    if args.action == "install" and not args.kubeconfig:
        parser.error("install needs --kubeconfig")
    try:
        result = lint(args.chart) if args.action == "lint" else install(args)
    except helm_sdkpy.HelmError as error:
        print(json.dumps({"ok": False, "error": str(error)}))
        return 1
    print(json.dumps({"ok": True, "result": result}, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
