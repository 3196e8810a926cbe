#!/usr/bin/python3
"""The plain Python pipeline a peer project would write, for bench/bench.sh to compare with.

cv2 YuNet -> the same FFHQ 5-point template -> torch.jit.load of the same generator -> the same
paste-back (optional) -> PNG. One photo after another, no batching, no threads of its own.

    /usr/bin/python3 bench/reference_pipeline.py MODEL YUNET OUT_DIR PHOTO... \
        --score-threshold T --nms-iou N [--paste]

T and N are YuNet's settings as the CLI's run recorded them (bench.sh reads them from a sidecar).
"""
import argparse
import os
import sys
import time

import cv2
import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
from aiportrait_gen import contract  # noqa: E402  (the generator's metadata, one reader)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("yunet")
    parser.add_argument("out_dir")
    parser.add_argument("photos", nargs="+")
    parser.add_argument("--score-threshold", type=float, required=True)
    parser.add_argument("--nms-iou", type=float, required=True)
    parser.add_argument("--paste", action="store_true")
    args = parser.parse_args()
    paste = args.paste
    model_path, yunet_path, out_dir, photos = args.model, args.yunet, args.out_dir, args.photos
    torch.set_num_threads(os.cpu_count())
    model, meta = contract.load(model_path)
    model.eval()
    size = meta["input_size"]
    shrink = 1.0 / (1.0 + 2.0 * meta["margin"])
    template = np.array([[size * (0.5 + (x - 0.5) * shrink), size * (0.5 + (y - 0.5) * shrink)]
                         for x, y in meta["template"]], dtype=np.float32)
    strength = contract.default_strength(meta)
    detector = cv2.FaceDetectorYN.create(yunet_path, "", (320, 320), args.score_threshold, args.nms_iou, 5000)
    os.makedirs(out_dir, exist_ok=True)
    faces_done = 0
    start = time.time()
    for photo in photos:
        image = cv2.imread(photo, cv2.IMREAD_COLOR)
        if image is None:
            continue
        detector.setInputSize((image.shape[1], image.shape[0]))
        _, faces = detector.detect(image)
        if faces is None or len(faces) == 0:
            continue
        face = max(faces, key=lambda f: f[2] * f[3])
        landmarks = face[4:14].reshape(5, 2).astype(np.float32)
        matrix, _ = cv2.estimateAffinePartial2D(landmarks, template, method=cv2.LMEDS)
        crop = cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
        x = torch.from_numpy(cv2.cvtColor(crop, cv2.COLOR_BGR2RGB)).permute(2, 0, 1)[None].float() / 127.5 - 1
        with torch.no_grad():
            y = model(x, torch.tensor([strength])) if meta["accepts_strength"] else model(x)
        out = ((y[0].clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).numpy()
        out = cv2.cvtColor(out, cv2.COLOR_RGB2BGR)
        if paste:
            inverse = cv2.invertAffineTransform(matrix)
            mask = np.zeros((size, size), np.float32)
            cv2.ellipse(mask, (size // 2, int(size * 0.53)), (int(size * 0.36), int(size * 0.43)), 0, 0, 360, 1.0, -1)
            mask = cv2.GaussianBlur(mask, (0, 0), size * 0.03)
            h, w = image.shape[:2]
            warped = cv2.warpAffine(out, inverse, (w, h), flags=cv2.INTER_LINEAR)
            alpha = cv2.warpAffine(mask, inverse, (w, h))[..., None]
            out = (image * (1 - alpha) + warped * alpha).round().astype(np.uint8)
        name = os.path.splitext(os.path.basename(photo))[0] + ".png"
        cv2.imwrite(os.path.join(out_dir, name), out)
        faces_done += 1
    seconds = time.time() - start
    print(f"reference pipeline: {len(photos)} images, {faces_done} faces in {seconds:.2f} s = "
          f"{len(photos) / seconds:.2f} img/s")


if __name__ == "__main__":
    main()
