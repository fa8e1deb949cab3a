"""The product catalogue: templates per category, turned into products with specs by a seeded RNG.

Brands and model lines are fictional. Each ``_category`` function yields ``(name, brand, price, specs)``;
``build_catalog`` adds ids (slugs), SKUs, stock, warranty and a description.
"""

from __future__ import annotations

import random
import re
from typing import Iterator

from .schema import DEFAULT_WARRANTY_MONTHS

Spec = tuple[str, str, float, dict]

# Typical warranty per category; about one product in twelve has none recorded (the system then assumes 12).
_WARRANTY = {
    "cpu": 36, "motherboard": 36, "gpu": 36, "memory": 84, "storage": 60, "psu": 84, "case": 24, "cooling": 60,
    "prebuilt": 24, "workstation": 36, "monitor": 36, "keyboard": 24, "mouse": 24, "bundle": 12,
}
# Socket -> (brand, memory types its boards take, chipsets)
_SOCKETS = {
    "AM5": ("Zentrix", ("DDR5",), ("X670E", "B650", "A620")),
    "AM4": ("Zentrix", ("DDR4",), ("X570", "B550")),
    "LGA1700": ("Corvex", ("DDR4", "DDR5"), ("Z790", "B760")),
    "LGA1851": ("Corvex", ("DDR5",), ("Z890", "B860")),
}


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _price(rng: random.Random, low: float, high: float) -> float:
    """A retail price ending in .99 between low and high."""
    return float(int(rng.uniform(low, high))) + 0.99


def _cpus(rng: random.Random) -> Iterator[Spec]:
    for socket, (brand, _, _) in _SOCKETS.items():
        for tier, cores, tdp, low, high in ((5, 6, 65, 150, 230), (7, 8, 105, 280, 380), (9, 16, 170, 480, 650)):
            series = "R" if brand == "Zentrix" else "i"
            number = {"AM5": 7000, "AM4": 5000, "LGA1700": 14000, "LGA1851": 15000}[socket] + tier * 100 + rng.choice((0, 50))
            yield (f"{brand} {series}{tier} {number}", brand, _price(rng, low, high),
                   {"socket": socket, "cores": cores, "tdp_w": tdp, "boxed_cooler": tier == 5 and rng.random() < 0.6})


def _motherboards(rng: random.Random) -> Iterator[Spec]:
    brands = ("Arcbyte", "Gridline", "Forgeon")
    for socket, (_, memory_types, chipsets) in _SOCKETS.items():
        for form_factor in ("ATX", "mATX", "ITX"):
            chipset = rng.choice(chipsets)
            memory = rng.choice(memory_types)
            brand = rng.choice(brands)
            suffix = {"ATX": "Pro", "mATX": "M", "ITX": "Mini"}[form_factor]
            yield (f"{brand} {chipset} {suffix} {memory}", brand, _price(rng, 110, 420), {
                "socket": socket, "chipset": chipset, "memory_type": memory, "form_factor": form_factor,
                "memory_slots": 2 if form_factor == "ITX" else 4, "sata_ports": 2 if form_factor == "ITX" else rng.choice((4, 6)),
                "max_memory_speed_mhz": 6000 if memory == "DDR5" else 3600,
            })


def _gpus(rng: random.Random) -> Iterator[Spec]:
    for brand in ("Vortex", "AeroForge", "Helix"):
        for model, vram, psu, low, high in (("4060", 8, 550, 290, 340), ("4070", 12, 650, 540, 640),
                                            ("4080", 16, 750, 950, 1150), ("4090", 24, 850, 1550, 1900),
                                            ("7800", 16, 700, 480, 560)):
            edition = rng.choice(("OC", "Twin", "Triple", "Aero"))
            yield (f"{brand} RTX {model} {edition} {vram}GB", brand, _price(rng, low, high),
                   {"length_mm": rng.randrange(190, 345, 5), "recommended_psu_w": psu, "vram_gb": vram})


def _memory(rng: random.Random) -> Iterator[Spec]:
    for brand in ("Kinetix", "Ramforge"):
        for memory_type, speeds in (("DDR4", (3200, 3600)), ("DDR5", (5600, 6000, 6400))):
            for capacity, modules in ((16, 2), (32, 2), (64, 4)):
                speed = rng.choice(speeds)
                yield (f"{brand} {memory_type}-{speed} {capacity}GB ({modules}x{capacity // modules}GB)", brand,
                       _price(rng, capacity * 2.2, capacity * 3.8),
                       {"type": memory_type, "speed_mhz": speed, "capacity_gb": capacity, "modules": modules})


def _storage(rng: random.Random) -> Iterator[Spec]:
    for brand in ("Datavault", "Swiftcell"):
        for interface in ("NVMe", "SATA"):
            for capacity in (500, 1000, 2000, 4000):
                label = f"{capacity // 1000}TB" if capacity >= 1000 else f"{capacity}GB"
                yield (f"{brand} {'NV' if interface == 'NVMe' else 'SA'} {label} {interface} SSD", brand,
                       _price(rng, capacity * 0.06 + 30, capacity * 0.1 + 45), {"interface": interface, "capacity_gb": capacity})


def _psus(rng: random.Random) -> Iterator[Spec]:
    for brand in ("CoreFlow", "Voltaris"):
        for wattage in (450, 550, 650, 750, 850, 1000):
            efficiency = rng.choice(("bronze", "gold", "gold", "platinum"))
            modularity = rng.choice(("modular", "semi-modular", "non-modular"))
            yield (f"{brand} {wattage}W {efficiency.title()} {modularity.title()}", brand,
                   _price(rng, wattage * 0.09, wattage * 0.16), {"wattage": wattage, "efficiency": efficiency, "modularity": modularity})


def _cases(rng: random.Random) -> Iterator[Spec]:
    layouts = ((("ATX", "mATX", "ITX"), "Tower"), (("mATX", "ITX"), "Compact"), (("ITX",), "Mini"))
    for brand in ("Hexa", "Obsidian Works", "Nimbus"):
        for form_factors, size in layouts:
            yield (f"{brand} {size} {rng.choice(('Air', 'Flow', 'Silent', 'Glass'))}", brand, _price(rng, 60, 210), {
                "supported_form_factors": list(form_factors),
                "max_gpu_length_mm": {"Tower": rng.randrange(330, 425, 5), "Compact": rng.randrange(260, 335, 5), "Mini": rng.randrange(200, 285, 5)}[size],
                "max_cooler_height_mm": {"Tower": rng.randrange(160, 186, 1), "Compact": rng.randrange(140, 166, 1), "Mini": rng.randrange(55, 80, 1)}[size],
            })


def _coolers(rng: random.Random) -> Iterator[Spec]:
    for brand in ("Frostline", "Aerocool Labs"):
        for height in (58, 125, 155, 165):
            yield (f"{brand} Tower {height}", brand, _price(rng, 25, 110), {"type": "air", "height_mm": height})
        for radiator in (240, 360):
            yield (f"{brand} Liquid {radiator}", brand, _price(rng, 90, 220), {"type": "liquid", "height_mm": 0, "radiator_mm": radiator})


def _systems(rng: random.Random, category: str, count: int) -> Iterator[Spec]:
    line = "Forge" if category == "prebuilt" else "Atlas"
    for index in range(count):
        memory = rng.choice((16, 32, 64, 128 if category == "workstation" else 32))
        yield (f"CoreCraft {line} {index + 1}{rng.choice(('', 'X', 'S'))}", "CoreCraft",
               _price(rng, 900 + 300 * index, 1400 + 450 * index),
               {"cpu_cores": rng.choice((8, 12, 16, 24)), "gpu_vram_gb": rng.choice((8, 12, 16, 24)), "memory_gb": memory,
                "storage_gb": rng.choice((1000, 2000, 4000))})


def _monitors(rng: random.Random) -> Iterator[Spec]:
    for brand in ("Viewcrest", "Pixelon"):
        for size, resolution, refresh in ((24, "1920x1080", 165), (27, "2560x1440", 170), (27, "3840x2160", 144), (32, "3840x2160", 240)):
            yield (f"{brand} {size}\" {resolution} {refresh}Hz", brand, _price(rng, 150 + size * 5, 300 + size * 18),
                   {"size_in": size, "resolution": resolution, "refresh_hz": refresh, "panel": rng.choice(("IPS", "VA", "OLED"))})


def _peripherals(rng: random.Random, category: str) -> Iterator[Spec]:
    brands = ("Keyforge", "Tactis") if category == "keyboard" else ("Glidex", "Pointra")
    for brand in brands:
        for model in ("Lite", "Pro", "Elite", "Wireless"):
            specs = ({"layout": rng.choice(("full", "tkl", "75%")), "switch": rng.choice(("red", "brown", "blue")), "wireless": model == "Wireless"}
                     if category == "keyboard" else {"dpi": rng.choice((12000, 16000, 26000)), "wireless": model == "Wireless", "weight_g": rng.randrange(55, 110)})
            yield (f"{brand} {model} {'Keyboard' if category == 'keyboard' else 'Mouse'}", brand, _price(rng, 30, 190), specs)


def build_catalog(rng: random.Random) -> list[dict]:
    """Every product row, in a fixed order. Bundles reference products made before them."""
    sources: list[tuple[str, Iterator[Spec]]] = [
        ("cpu", _cpus(rng)), ("motherboard", _motherboards(rng)), ("gpu", _gpus(rng)), ("memory", _memory(rng)),
        ("storage", _storage(rng)), ("psu", _psus(rng)), ("case", _cases(rng)), ("cooling", _coolers(rng)),
        ("prebuilt", _systems(rng, "prebuilt", 8)), ("workstation", _systems(rng, "workstation", 6)),
        ("monitor", _monitors(rng)), ("keyboard", _peripherals(rng, "keyboard")), ("mouse", _peripherals(rng, "mouse")),
    ]
    products: list[dict] = []
    seen: set[str] = set()
    for category, specs in sources:
        for name, brand, price, spec in specs:
            products.append(_product(rng, category, name, brand, price, spec, seen))
    by_category = {c: [p for p in products if p["category"] == c] for c in ("keyboard", "mouse", "monitor", "cpu", "motherboard")}
    for index in range(6):
        parts = ([rng.choice(by_category["keyboard"]), rng.choice(by_category["mouse"])] if index < 3
                 else [rng.choice(by_category["cpu"]), rng.choice(by_category["motherboard"])])
        list_price = sum(p["price"] for p in parts)
        name = f"{'Desk Setup' if index < 3 else 'Upgrade Kit'} Bundle {index + 1}"
        products.append(_product(rng, "bundle", name, "CoreCraft", float(int(list_price * 0.92)) + 0.99,
                                 {"includes": [p["id"] for p in parts]}, seen))
    return products


def _product(rng: random.Random, category: str, name: str, brand: str, price: float, specs: dict, seen: set[str]) -> dict:
    slug = slugify(name)
    while slug in seen:  # two templates can produce the same name; keep ids unique and stable
        slug += "-b"
    seen.add(slug)
    out_of_stock = rng.random() < 0.1
    warranty = None if rng.random() < 0.08 else _WARRANTY[category]
    return {
        "id": slug,
        "sku": f"CC-{category[:3].upper()}-{len(seen):04d}",
        "name": name,
        "brand": brand,
        "category": category,
        "price": price,
        "in_stock": 0 if out_of_stock else rng.randrange(1, 150),
        "backorderable": out_of_stock and rng.random() < 0.5,
        "warranty_months": warranty,
        "specs": specs,
        "description": f"{name} by {brand}. {_describe(category, specs)} Warranty: "
                       f"{warranty or DEFAULT_WARRANTY_MONTHS} months.",
    }


def _describe(category: str, specs: dict) -> str:
    shown = ", ".join(f"{key.replace('_', ' ')} {value}" for key, value in specs.items() if not isinstance(value, list))
    return f"{category.title()} — {shown}." if shown else f"{category.title()}."
