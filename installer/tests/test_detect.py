"""GPU detection matrix with stand-in nvidia-smi / rocminfo / rocm-smi / uname / sysctl on a temp PATH."""
from __future__ import annotations

import os

from tests.support import TempDirCase, stand_in
from cw_install import gpu, torch_choice

NVIDIA_Q = "--query-gpu=name,memory.total,driver_version --format=csv,noheader,nounits"
SMI_HEADER = """+-----------------------------------------------------------------------------------------+
| NVIDIA-SMI 550.54.15              Driver Version: %s      CUDA Version: %s     |
|-----------------------------------------+------------------------+----------------------+
"""
ROCMINFO = """*******
Agent 1
*******
  Name:                    AMD Ryzen 9 7950X
  Marketing Name:          AMD Ryzen 9 7950X 16-Core Processor
  Device Type:             CPU
*******
Agent 2
*******
  Name:                    gfx1100
  Marketing Name:          Radeon RX 7900 XTX
  Device Type:             GPU
"""
ROCM_SMI_VRAM = "device,VRAM Total Memory (B),VRAM Total Used Memory (B)\ncard0,25753026560,1024\n"


class DetectTest(TempDirCase):
    def env(self) -> dict:
        return {"PATH": os.path.join(self.tmp, "bin"), "ROCM_PATH": os.path.join(self.tmp, "rocm")}

    def nvidia(self, csv: str, driver: str, cuda: str) -> None:
        stand_in(os.path.join(self.tmp, "bin"), "nvidia-smi",
                 {NVIDIA_Q: csv, "": SMI_HEADER % (driver, cuda)})

    def test_single_nvidia_with_cuda_12_4(self) -> None:
        self.nvidia("NVIDIA GeForce RTX 4090, 24564, 550.54.15\n", "550.54.15", "12.4")
        g = gpu.detect(self.env())
        self.assertEqual(g["kind"], "nvidia")
        self.assertEqual(g["name"], "NVIDIA GeForce RTX 4090")
        self.assertEqual(g["vramBytes"], 24564 * 1024 * 1024)
        self.assertEqual(g["driver"], "550.54.15")
        self.assertEqual(g["cudaVersion"], "12.4")
        t = torch_choice.choose(g, "linux")
        self.assertEqual(t["tag"], "cu124")
        self.assertEqual(t["index"], "https://download.pytorch.org/whl/cu124")
        self.assertEqual(t["flags"], ["--nvidia", "--cuda-version", "12.4"])
        self.assertIn("12.4", t["reason"])

    def test_two_nvidia_gpus_pick_the_largest_and_count_both(self) -> None:
        self.nvidia("Tesla T4, 15360, 470.82.01\nNVIDIA A100-SXM4-80GB, 81920, 470.82.01\n", "470.82.01", "11.4")
        g = gpu.detect(self.env())
        self.assertEqual((g["name"], g["count"]), ("NVIDIA A100-SXM4-80GB", 2))
        t = torch_choice.choose(g, "linux")
        # CUDA 11.4 is older than every wheel: the oldest (cu118) with a driver-update hint.
        self.assertEqual(t["tag"], "cu118")
        self.assertIn("update the driver", t["reason"])

    def test_old_driver_cuda_11_8_and_new_driver_13_0(self) -> None:
        for cuda, tag in (("11.8", "cu118"), ("12.2", "cu121"), ("12.6", "cu126"), ("12.8", "cu128"),
                          ("13.0", "cu130"), ("13.2", "cu130")):
            with self.subTest(cuda=cuda):
                self.assertEqual(torch_choice.choose({"kind": "nvidia", "cudaVersion": cuda}, "linux")["tag"], tag)

    def test_nvidia_header_without_cuda_version_falls_back_to_default(self) -> None:
        stand_in(os.path.join(self.tmp, "bin"), "nvidia-smi", {NVIDIA_Q: "Quadro P4000, 8192, 390.1\n", "": "odd"})
        g = gpu.detect(self.env())
        self.assertIsNone(g["cudaVersion"])
        self.assertEqual(torch_choice.choose(g, "windows")["tag"], torch_choice.CUDA_DEFAULT)

    def test_failing_nvidia_smi_means_no_nvidia(self) -> None:
        stand_in(os.path.join(self.tmp, "bin"), "nvidia-smi", {}, default="NVIDIA-SMI has failed\n", rc=9)
        self.assertEqual(gpu.detect(self.env())["kind"], "cpu")

    def test_amd_rocm(self) -> None:
        b = os.path.join(self.tmp, "bin")
        stand_in(b, "rocminfo", {"": ROCMINFO})
        stand_in(b, "rocm-smi", {"--showmeminfo vram --csv": ROCM_SMI_VRAM,
                                 "--showdriverversion": "Driver version: 6.7.0\n"})
        os.makedirs(os.path.join(self.tmp, "rocm", ".info"))
        with open(os.path.join(self.tmp, "rocm", ".info", "version"), "w") as f:
            f.write("6.2.4-120\n")
        g = gpu.detect(self.env())
        self.assertEqual((g["kind"], g["name"], g["vramBytes"], g["driver"], g["rocmVersion"]),
                         ("amd", "Radeon RX 7900 XTX", 25753026560, "6.7.0", "6.2"))
        t = torch_choice.choose(g, "linux")
        self.assertEqual((t["tag"], t["flags"]), ("rocm6.2", ["--amd", "--rocm-version", "6.2"]))
        self.assertEqual(t["index"], "https://download.pytorch.org/whl/rocm6.2")
        # On Windows PyTorch has no ROCm wheels: CPU build, and the reason says so.
        self.assertEqual(torch_choice.choose(g, "windows")["tag"], "cpu")

    def test_amd_with_unknown_rocm_release_and_no_gpu_agents(self) -> None:
        b = os.path.join(self.tmp, "bin")
        stand_in(b, "rocminfo", {"": ROCMINFO.split("*******\nAgent 2")[0]})
        self.assertEqual(gpu.detect(self.env())["kind"], "cpu")  # only a CPU agent
        stand_in(b, "rocminfo", {"": ROCMINFO})
        g = gpu.detect(self.env())
        self.assertIsNone(g["rocmVersion"])
        self.assertEqual(torch_choice.choose(g, "linux")["tag"], "rocm6.3")

    def test_apple_silicon(self) -> None:
        b = os.path.join(self.tmp, "bin")
        stand_in(b, "uname", {"-s": "Darwin\n", "-m": "arm64\n"})
        stand_in(b, "sysctl", {"-n machdep.cpu.brand_string": "Apple M2 Max\n", "-n hw.memsize": "68719476736\n"})
        g = gpu.detect(self.env())
        self.assertEqual((g["kind"], g["name"], g["vramBytes"]), ("apple", "Apple M2 Max", 68719476736))
        t = torch_choice.choose(g, "darwin")
        self.assertEqual((t["flags"], t["index"]), (["--m-series"], None))
        self.assertIn("MPS", t["reason"])

    def test_intel_mac_and_linux_arm_are_cpu(self) -> None:
        b = os.path.join(self.tmp, "bin")
        stand_in(b, "uname", {"-s": "Darwin\n", "-m": "x86_64\n"})
        stand_in(b, "sysctl", {"-n machdep.cpu.brand_string": "Intel(R) Core(TM) i9-9880H\n"})
        self.assertEqual(gpu.detect(self.env())["kind"], "cpu")
        stand_in(b, "uname", {"-s": "Linux\n", "-m": "arm64\n"})
        self.assertEqual(gpu.detect(self.env())["kind"], "cpu")

    def test_nothing_on_path_is_cpu(self) -> None:
        g = gpu.detect(self.env())
        self.assertEqual(g["kind"], "cpu")
        t = torch_choice.choose(g, "linux")
        self.assertEqual((t["flags"], t["index"]), (["--cpu"], "https://download.pytorch.org/whl/cpu"))

    def test_nvidia_wins_over_amd_and_override(self) -> None:
        self.nvidia("NVIDIA RTX A6000, 49140, 535.1\n", "535.1", "12.2")
        stand_in(os.path.join(self.tmp, "bin"), "rocminfo", {"": ROCMINFO})
        self.assertEqual(gpu.detect(self.env())["kind"], "nvidia")
        self.assertEqual(gpu.detect(self.env(), "amd")["kind"], "amd")
        self.assertEqual(gpu.detect(self.env(), "cpu")["kind"], "cpu")
        forced = gpu.detect({"PATH": os.path.join(self.tmp, "none")}, "nvidia")
        self.assertEqual(forced["kind"], "nvidia")  # taken at its word, details unknown
        self.assertEqual(torch_choice.choose(forced, "linux")["tag"], "cu126")

    def test_registration_gpu_has_exactly_the_contract_fields(self) -> None:
        self.nvidia("NVIDIA GeForce RTX 3090, 24576, 535.1\n", "535.1", "12.2")
        self.assertEqual(sorted(gpu.gpu_for_registration(gpu.detect(self.env()))),
                         ["cudaVersion", "driver", "kind", "name", "vramBytes"])
