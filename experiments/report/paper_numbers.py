"""The papers' own figures, to print beside ours (test accuracy in %, from the seeds' tables)."""

from __future__ import annotations

PAPER_ACCURACY: dict[str, dict[str, object]] = {
    "AN-9": {
        "source": "AdaNorm (000) Table 1, CIFAR-10, mean of 3 runs, 100 epochs",
        "rows": {
            "ResNet18": {
                "Adam": 93.54,
                "AdamNorm": 93.78,
                "DiffGrad": 93.49,
                "DiffGradNorm": 93.98,
                "RAdam": 93.82,
                "RAdamNorm": 93.89,
                "AdaBelief": 93.63,
                "AdaBeliefNorm": 93.66,
            },
            "VGG16": {
                "Adam": 92.55,
                "AdamNorm": 92.83,
                "DiffGrad": 92.76,
                "DiffGradNorm": 92.87,
                "RAdam": 92.94,
                "RAdamNorm": 93.14,
                "AdaBelief": 92.71,
                "AdaBeliefNorm": 92.81,
            },
        },
    },
    "AI-8": {
        "source": "Aida (004) Table I, CIFAR-10, 200 epochs",
        "rows": {
            "VGG11": {
                "Aida": 91.57,
                "AdaBelief": 91.59,
                "SGDM": 90.03,
                "RAdam": 88.88,
                "Adam": 88.28,
                "AdamW": 88.73,
            },
            "ResNet34": {
                "Aida": 95.38,
                "AdaBelief": 95.30,
                "SGDM": 94.64,
                "RAdam": 94.64,
                "Adam": 92.97,
                "AdamW": 94.46,
            },
        },
    },
    "ND-5": {
        "source": "ND-Adam (003) Table I, CIFAR-10 test accuracy (100 - error)",
        "rows": {
            "WRN-22-7.5": {"SGDM": 96.16, "NDAdam": 96.30},
            "WRN-28-10": {"SGDM": 96.20, "NDAdam": 96.30},
        },
    },
    "AR-9": {
        "source": "AdaRem (002) Table 2, ImageNet ResNet-18 top-1",
        "rows": {"ResNet-18": {"SGDM": 70.67, "Adam": 67.07, "AdamW": 67.55, "AdaRem": 70.67}},
    },
}
