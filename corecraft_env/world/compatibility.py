"""Build compatibility: the checks behind the ``compatibility_rule`` rows, as pure functions over product specs.

Each rule row names a ``condition``; ``CHECKS`` maps that name to a function that takes the build's parts grouped
by category (``by_category``; each ``Part``: category, specs, quantity, product id) and returns one message per
violation. The rule's severity
decides whether a violation is an error (the build is incompatible) or a warning.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable


@dataclass(frozen=True)
class Part:
    product_id: str
    category: str
    specs: dict
    quantity: int = 1


# A build's parts grouped by category once per evaluation, so each of the 13 checks looks its categories up
# instead of scanning every part (a third of a validateBuildCompatibility call went into those scans).
PartsByCategory = dict[str, list[Part]]


def by_category(parts: Iterable[Part]) -> PartsByCategory:
    grouped: PartsByCategory = {}
    for part in parts:
        grouped.setdefault(part.category, []).append(part)
    return grouped


def _of(build: PartsByCategory, category: str) -> list[Part]:
    return build.get(category, [])


def _count(build: PartsByCategory, category: str) -> int:
    return sum(p.quantity for p in _of(build, category))


def _at_most_one(category: str) -> Callable[[PartsByCategory], list[str]]:
    def check(build: PartsByCategory) -> list[str]:
        n = _count(build, category)
        return [f"build has {n} {category} parts; at most 1 is allowed"] if n > 1 else []

    return check


def _cpu_socket(build: PartsByCategory) -> list[str]:
    return [
        f"{cpu.product_id} uses socket {cpu.specs['socket']} but {board.product_id} has socket {board.specs['socket']}"
        for cpu in _of(build, "cpu")
        for board in _of(build, "motherboard")
        if cpu.specs["socket"] != board.specs["socket"]
    ]


def _form_factor(build: PartsByCategory) -> list[str]:
    return [
        f"{board.product_id} is {board.specs['form_factor']}; {case.product_id} supports "
        f"{', '.join(case.specs['supported_form_factors'])}"
        for board in _of(build, "motherboard")
        for case in _of(build, "case")
        if board.specs["form_factor"] not in case.specs["supported_form_factors"]
    ]


def _memory_type(build: PartsByCategory) -> list[str]:
    return [
        f"{mem.product_id} is {mem.specs['type']} but {board.product_id} takes {board.specs['memory_type']}"
        for mem in _of(build, "memory")
        for board in _of(build, "motherboard")
        if mem.specs["type"] != board.specs["memory_type"]
    ]


def _memory_slots(build: PartsByCategory) -> list[str]:
    modules = sum(m.specs["modules"] * m.quantity for m in _of(build, "memory"))
    return [
        f"{modules} memory modules but {board.product_id} has {board.specs['memory_slots']} slots"
        for board in _of(build, "motherboard")
        if modules > board.specs["memory_slots"]
    ]


def _sata_ports(build: PartsByCategory) -> list[str]:
    sata = sum(s.quantity for s in _of(build, "storage") if s.specs["interface"] == "SATA")
    return [
        f"{sata} SATA drives but {board.product_id} has {board.specs['sata_ports']} SATA ports"
        for board in _of(build, "motherboard")
        if sata > board.specs["sata_ports"]
    ]


def _gpu_length(build: PartsByCategory) -> list[str]:
    return [
        f"{gpu.product_id} is {gpu.specs['length_mm']} mm long; {case.product_id} fits at most "
        f"{case.specs['max_gpu_length_mm']} mm"
        for gpu in _of(build, "gpu")
        for case in _of(build, "case")
        if gpu.specs["length_mm"] > case.specs["max_gpu_length_mm"]
    ]


def _cooler_height(build: PartsByCategory) -> list[str]:
    return [
        f"{cooler.product_id} is {cooler.specs['height_mm']} mm tall; {case.product_id} fits at most "
        f"{case.specs['max_cooler_height_mm']} mm"
        for cooler in _of(build, "cooling")
        for case in _of(build, "case")
        if cooler.specs["type"] == "air" and cooler.specs["height_mm"] > case.specs["max_cooler_height_mm"]
    ]


def _psu_cpu(build: PartsByCategory) -> list[str]:
    return [
        f"{psu.product_id} supplies {psu.specs['wattage']} W, below {cpu.product_id}'s {cpu.specs['tdp_w']} W TDP"
        for psu in _of(build, "psu")
        for cpu in _of(build, "cpu")
        if psu.specs["wattage"] < cpu.specs["tdp_w"]
    ]


def _psu_gpu(build: PartsByCategory) -> list[str]:
    return [
        f"{psu.product_id} supplies {psu.specs['wattage']} W; {gpu.product_id} recommends "
        f"{gpu.specs['recommended_psu_w']} W"
        for psu in _of(build, "psu")
        for gpu in _of(build, "gpu")
        if psu.specs["wattage"] < gpu.specs["recommended_psu_w"]
    ]


def _memory_speed(build: PartsByCategory) -> list[str]:
    return [
        f"{mem.product_id} is rated {mem.specs['speed_mhz']} MHz; {board.product_id} runs memory at most "
        f"{board.specs['max_memory_speed_mhz']} MHz"
        for mem in _of(build, "memory")
        for board in _of(build, "motherboard")
        if mem.specs["type"] == board.specs["memory_type"] and mem.specs["speed_mhz"] > board.specs["max_memory_speed_mhz"]
    ]


def _cooler_present(build: PartsByCategory) -> list[str]:
    needs_cooler = [cpu for cpu in _of(build, "cpu") if not cpu.specs.get("boxed_cooler", False)]
    return [f"{cpu.product_id} ships without a cooler and the build has none" for cpu in needs_cooler] if needs_cooler and not _of(build, "cooling") else []


CHECKS: dict[str, Callable[[PartsByCategory], list[str]]] = {
    "single_cpu": _at_most_one("cpu"),
    "single_motherboard": _at_most_one("motherboard"),
    "cpu_socket_match": _cpu_socket,
    "form_factor_fit": _form_factor,
    "memory_type_match": _memory_type,
    "memory_slots": _memory_slots,
    "sata_ports": _sata_ports,
    "gpu_length": _gpu_length,
    "cooler_height": _cooler_height,
    "psu_cpu_tdp": _psu_cpu,
    "psu_gpu_recommendation": _psu_gpu,
    "memory_speed_supported": _memory_speed,
    "cooler_present": _cooler_present,
}

# The rule rows the world ships: (id, name, severity, condition, message, categories).
RULES: tuple[tuple[str, str, str, str, str, tuple[str, ...]], ...] = (
    ("rule-single-cpu", "One CPU per build", "error", "single_cpu", "A build takes at most one CPU.", ("cpu",)),
    ("rule-single-motherboard", "One motherboard per build", "error", "single_motherboard",
     "A build takes at most one motherboard.", ("motherboard",)),
    ("rule-cpu-socket", "CPU socket matches motherboard", "error", "cpu_socket_match",
     "The CPU socket must equal the motherboard socket.", ("cpu", "motherboard")),
    ("rule-form-factor", "Motherboard fits the case", "error", "form_factor_fit",
     "The motherboard form factor must be one the case supports.", ("motherboard", "case")),
    ("rule-memory-type", "Memory type matches motherboard", "error", "memory_type_match",
     "Memory must be the DDR generation the motherboard takes.", ("memory", "motherboard")),
    ("rule-memory-slots", "Enough memory slots", "error", "memory_slots",
     "The number of memory modules must not exceed the motherboard's slots.", ("memory", "motherboard")),
    ("rule-sata-ports", "Enough SATA ports", "error", "sata_ports",
     "SATA drives must not outnumber the motherboard's SATA ports.", ("storage", "motherboard")),
    ("rule-gpu-length", "GPU fits the case", "error", "gpu_length",
     "The graphics card must not be longer than the case allows.", ("gpu", "case")),
    ("rule-cooler-height", "Cooler fits the case", "error", "cooler_height",
     "An air cooler must not be taller than the case allows.", ("cooling", "case")),
    ("rule-psu-cpu", "PSU covers the CPU", "error", "psu_cpu_tdp",
     "The PSU wattage must be at least the CPU's TDP.", ("psu", "cpu")),
    ("rule-psu-gpu", "PSU meets the GPU recommendation", "error", "psu_gpu_recommendation",
     "The PSU wattage must be at least the GPU's recommended PSU wattage.", ("psu", "gpu")),
    ("rule-memory-speed", "Memory speed supported", "warning", "memory_speed_supported",
     "Memory rated above the motherboard's maximum will run at the lower speed.", ("memory", "motherboard")),
    ("rule-cooler-present", "CPU has a cooler", "warning", "cooler_present",
     "A CPU sold without a cooler needs a cooling product in the build.", ("cpu", "cooling")),
)


@dataclass(frozen=True)
class CompatibilityReport:
    compatible: bool
    errors: list[dict]
    warnings: list[dict]


def evaluate(parts: list[Part], rules: Iterable[dict]) -> CompatibilityReport:
    """Run every rule (rows with ``id``, ``severity``, ``condition``) over ``parts``; errors make it incompatible."""
    errors: list[dict] = []
    warnings: list[dict] = []
    build = by_category(parts)
    for rule in rules:
        for detail in CHECKS[rule["condition"]](build):
            (errors if rule["severity"] == "error" else warnings).append({"rule_id": rule["id"], "message": detail})
    return CompatibilityReport(compatible=not errors, errors=errors, warnings=warnings)
