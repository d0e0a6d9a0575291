#!/usr/bin/python3
"""Reference outputs for the image tests (tests/image/test_image.c), from PIL and torch.

Writes tests/fixtures/image/: small test images (JPEG and PNG in many colour types and bit
depths, odd sizes, extreme aspect ratios), corrupt files, and what the Dassl/CLIP pipeline
computes from them, listed in manifest.txt:

  decode      FILE W H RGB            Image.open(FILE).convert("RGB"), raw uint8 HWC
  preprocess  FILE S U8 F32|-         Resize(S, bicubic) + CenterCrop(S) as uint8 HWC, and
                                      ToTensor + Normalize(CLIP mean, std) as float32 CHW
  resize      FILE W H U8             Image.resize((W, H), BICUBIC) of the decoded image
  crop_resize FILE L T W H S U8 F32   crop (L, T, L+W, T+H), resize to S x S (RandomResizedCrop's
                                      resized_crop), then the horizontally flipped normalised tensor
  corrupt     FILE                    a file every decoder must reject with an error

torchvision is not installed on Debian with python3-torch, so its few rules used here are
restated below (torchvision/transforms/functional.py: _compute_resized_output_size, center_crop,
resized_crop, to_tensor, normalize).  Run with Debian's /usr/bin/python3 (python3-pil, -numpy,
-torch); the images are generated from a fixed seed, so reruns give identical files.
"""
import io
import os
import struct
import zlib

import numpy as np
import torch
from PIL import Image

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "image")
MEAN = (0.48145466, 0.4578275, 0.40821073)
STD = (0.26862954, 0.26130258, 0.27577711)
rng = np.random.default_rng(20240601)
manifest = []


# ---- torchvision's rules on PIL images --------------------------------------------------------
def resize_shorter(img, size):
    w, h = img.size
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = size, int(size * long / short)
    new_w, new_h = (new_short, new_long) if w <= h else (new_long, new_short)
    if (new_w, new_h) == (w, h):
        return img
    return img.resize((new_w, new_h), Image.BICUBIC)


def center_crop(img, size):
    w, h = img.size
    top = int(round((h - size) / 2.0))
    left = int(round((w - size) / 2.0))
    return img.crop((left, top, left + size, top + size))


def to_normalized_tensor(img):
    t = torch.from_numpy(np.array(img, np.uint8, copy=True)).permute(2, 0, 1).contiguous()
    t = t.to(dtype=torch.float32).div(255)
    mean = torch.as_tensor(MEAN, dtype=torch.float32).view(-1, 1, 1)
    std = torch.as_tensor(STD, dtype=torch.float32).view(-1, 1, 1)
    return t.sub_(mean).div_(std)


# ---- a PNG writer for what PIL cannot write (low bit depths, 16-bit, short palettes, Adam7) ----
def chunk(tag, data, crc=None):
    if crc is None:
        crc = zlib.crc32(tag + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)


def pack_row(samples, bit_depth):
    """samples: 1-D array of the row's samples (all channels interleaved)."""
    if bit_depth == 16:
        return samples.astype(">u2").tobytes()
    if bit_depth == 8:
        return samples.astype(np.uint8).tobytes()
    per_byte = 8 // bit_depth
    padded = np.zeros(-(-len(samples) // per_byte) * per_byte, np.uint8)
    padded[: len(samples)] = samples
    out = np.zeros(len(padded) // per_byte, np.uint8)
    for i in range(per_byte):
        out |= padded[i::per_byte] << (8 - bit_depth * (i + 1))
    return out.tobytes()


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def png_file(samples, color_type, bit_depth, palette=None, trns=None, interlace=False, ihdr_size=None):
    """samples: H x W x C array of sample values."""
    h, w = samples.shape[:2]
    iw, ih = ihdr_size or (w, h)
    out = b"\x89PNG\r\n\x1a\n"
    out += chunk(b"IHDR", struct.pack(">IIBBBBB", iw, ih, bit_depth, color_type, 0, 0, 1 if interlace else 0))
    if palette is not None:
        out += chunk(b"PLTE", bytes(np.asarray(palette, np.uint8).reshape(-1)))
    if trns is not None:
        out += chunk(b"tRNS", trns)
    raw = b""
    passes = ADAM7 if interlace else [(0, 0, 1, 1)]
    for x0, y0, dx, dy in passes:
        sub = samples[y0::dy, x0::dx]
        if sub.shape[0] == 0 or sub.shape[1] == 0:
            continue
        for row in sub:
            raw += b"\x00" + pack_row(row.reshape(-1), bit_depth)
    out += chunk(b"IDAT", zlib.compress(raw, 9))
    out += chunk(b"IEND", b"")
    return out


# ---- test content --------------------------------------------------------------------------
def content(w, h, channels=3, maximum=255):
    """Smooth gradients, a hard-edged disc (overshoot for the bicubic) and a little noise."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    planes = []
    for c in range(channels):
        phase = 1.7 * c
        v = 0.5 + 0.35 * np.sin(x / max(w, 1) * 5.0 + phase) * np.cos(y / max(h, 1) * 3.0 - phase)
        disc = ((x - w * 0.6) ** 2 + (y - h * 0.4) ** 2) < (min(w, h) * 0.3) ** 2
        v = np.where(disc, 1.0 if c % 2 == 0 else 0.0, v)
        v += rng.normal(0, 0.04, size=v.shape)
        planes.append(np.clip(v, 0, 1))
    return np.rint(np.stack(planes, axis=-1) * maximum).astype(np.int64)


def save(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def pil_bytes(img, fmt, **kw):
    b = io.BytesIO()
    img.save(b, fmt, **kw)
    return b.getvalue()


def reference(name, size, small=True):
    """Records PIL's decode and the preprocess outputs of fixture `name`; for a large image only
    the uint8 crop (its decode is checked through it), to keep the fixtures small."""
    img = Image.open(os.path.join(OUT, name)).convert("RGB")
    stem = name.replace(".", "_")
    if small:
        save(stem + ".rgb", np.asarray(img, np.uint8).tobytes())
        manifest.append(f"decode {name} {img.size[0]} {img.size[1]} {stem}.rgb")
    crop = center_crop(resize_shorter(img, size), size)
    save(f"{stem}_pre{size}.u8", np.asarray(crop, np.uint8).tobytes())
    f32 = "-"
    if small:
        f32 = f"{stem}_pre{size}.f32"
        save(f32, to_normalized_tensor(crop).numpy().astype("<f4").tobytes())
    manifest.append(f"preprocess {name} {size} {stem}_pre{size}.u8 {f32}")
    return img


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        os.remove(os.path.join(OUT, f))

    # JPEG, written by PIL's libjpeg-turbo.
    save("rgb420_53x37.jpg", pil_bytes(Image.fromarray(content(53, 37).astype(np.uint8)), "JPEG", quality=90))
    save("rgb444_31x45.jpg", pil_bytes(Image.fromarray(content(31, 45).astype(np.uint8)), "JPEG", quality=95, subsampling=0))
    save("progressive_64x48.jpg", pil_bytes(Image.fromarray(content(64, 48).astype(np.uint8)), "JPEG", quality=85, progressive=True))
    save("gray_29x41.jpg", pil_bytes(Image.fromarray(content(29, 41, 1)[..., 0].astype(np.uint8), "L"), "JPEG", quality=90))
    save("cmyk_24x20.jpg", pil_bytes(Image.fromarray(content(24, 20, 4).astype(np.uint8), "CMYK"), "JPEG", quality=90))
    save("tiny_9x7.jpg", pil_bytes(Image.fromarray(content(9, 7).astype(np.uint8)), "JPEG", quality=90))
    save("photo_500x375.jpg", pil_bytes(Image.fromarray(content(500, 375).astype(np.uint8)), "JPEG", quality=90))

    # PNG: PIL's writer for the common types, ours for the rest.
    save("rgb_45x33.png", pil_bytes(Image.fromarray(content(45, 33).astype(np.uint8)), "PNG"))
    save("rgba_38x27.png", pil_bytes(Image.fromarray(content(38, 27, 4).astype(np.uint8), "RGBA"), "PNG"))
    save("gray_33x19.png", pil_bytes(Image.fromarray(content(33, 19, 1)[..., 0].astype(np.uint8), "L"), "PNG"))
    save("wide_300x5.png", pil_bytes(Image.fromarray(content(300, 5).astype(np.uint8)), "PNG"))
    save("gray1_21x11.png", png_file(content(21, 11, 1, 1), 0, 1))
    save("gray2_19x9.png", png_file(content(19, 9, 1, 3), 0, 2))
    save("gray4_17x13.png", png_file(content(17, 13, 1, 15), 0, 4))
    save("gray16_23x15.png", png_file(content(23, 15, 1, 65535), 0, 16))
    save("gray16low_23x15.png", png_file(content(23, 15, 1, 400), 0, 16))
    save("tall_4x250.png", png_file(content(4, 250, 1, 255), 0, 8))
    save("grayalpha_20x14.png", png_file(content(20, 14, 2), 4, 8))
    save("grayalpha16_20x14.png", png_file(content(20, 14, 2, 65535), 4, 16))
    save("rgb16_25x18.png", png_file(content(25, 18, 3, 65535), 2, 16))
    save("rgba16_22x16.png", png_file(content(22, 16, 4, 65535), 6, 16))
    save("rgb_trns_26x17.png", png_file(content(26, 17), 2, 8, trns=struct.pack(">HHH", 10, 20, 30)))
    pal = rng.integers(0, 256, size=(256, 3))
    save("palette8_30x20.png", png_file(content(30, 20, 1, 255), 3, 8, palette=pal))
    # 5 palette entries, indices up to 15: PIL maps the missing ones through its gray ramp.
    save("palette4short_27x15.png", png_file(content(27, 15, 1, 15), 3, 4, palette=pal[:5]))
    save("palette1_trns_18x12.png", png_file(content(18, 12, 1, 1), 3, 1, palette=pal[:2], trns=b"\x00"))
    save("adam7_rgb_37x29.png", png_file(content(37, 29), 2, 8, interlace=True))
    save("adam7_gray2_15x11.png", png_file(content(15, 11, 1, 3), 0, 2, interlace=True))
    save("resize_src_160x120.png", pil_bytes(Image.fromarray(content(160, 120).astype(np.uint8)), "PNG"))

    sizes = {"tiny_9x7.jpg": 32, "wide_300x5.png": 16, "tall_4x250.png": 12, "photo_500x375.jpg": 224,
             "palette4short_27x15.png": 40, "gray1_21x11.png": 11}
    for name in sorted(os.listdir(OUT)):
        if name.endswith((".jpg", ".png")):
            size = sizes.get(name, 16)
            reference(name, size, small=size < 100)

    # Resizes to arbitrary sizes: antialiased shrinking, enlarging, one axis unchanged, 1x1.
    src = Image.open(os.path.join(OUT, "resize_src_160x120.png")).convert("RGB")
    for w, h in [(7, 5), (160, 61), (333, 17), (1, 1), (97, 131), (41, 240), (159, 121)]:
        out = f"resize_src_{w}x{h}.u8"
        save(out, np.asarray(src.resize((w, h), Image.BICUBIC), np.uint8).tobytes())
        manifest.append(f"resize resize_src_160x120.png {w} {h} {out}")

    # RandomResizedCrop's geometry for given boxes (F.resized_crop = crop then resize), and flip.
    for left, top, w, h, size in [(10, 5, 50, 70, 32), (0, 0, 160, 120, 24), (100, 60, 3, 2, 32),
                                  (159, 119, 1, 1, 8), (37, 0, 90, 120, 45)]:
        out = src.crop((left, top, left + w, top + h)).resize((size, size), Image.BICUBIC)
        stem = f"rrc_{left}_{top}_{w}_{h}_{size}"
        save(stem + ".u8", np.asarray(out, np.uint8).tobytes())
        save(stem + "_flip.f32", to_normalized_tensor(out.transpose(Image.FLIP_LEFT_RIGHT)).numpy().astype("<f4").tobytes())
        manifest.append(f"crop_resize resize_src_160x120.png {left} {top} {w} {h} {size} {stem}.u8 {stem}_flip.f32")

    # Corrupt files: each must give an error naming the file.
    jpeg = open(os.path.join(OUT, "rgb420_53x37.jpg"), "rb").read()
    png = open(os.path.join(OUT, "rgb_45x33.png"), "rb").read()
    corrupt = {
        "bad_truncated.jpg": jpeg[: len(jpeg) // 2],
        "bad_no_eoi.jpg": jpeg[:-2],
        "bad_header_only.jpg": jpeg[:40],
        "bad_garbage.jpg": bytes(rng.integers(0, 256, 3000, dtype=np.uint8)),
        "bad_garbage_jpeg_magic.jpg": b"\xff\xd8\xff" + bytes(rng.integers(0, 256, 3000, dtype=np.uint8)),
        "bad_garbage_png_magic.png": png[:8] + bytes(rng.integers(0, 256, 3000, dtype=np.uint8)),
        "bad_empty.png": b"",
        "bad_crc.png": png[:29] + bytes([png[29] ^ 0x55]) + png[30:],  # IHDR CRC is bytes 29..32
        "bad_truncated.png": png[: len(png) - 60],
        "bad_zero_width.png": png_file(content(4, 4), 2, 8, ihdr_size=(0, 4)),
        "bad_huge.png": png_file(content(4, 4), 2, 8, ihdr_size=(100000, 100000)),
        "bad_huge_side.png": png_file(content(4, 4), 2, 8, ihdr_size=(20000, 2)),
        "bad_huge.jpg": huge_jpeg(jpeg, 60000, 60000),
        "bad_zero_height.jpg": huge_jpeg(jpeg, 53, 0),
    }
    for name, data in corrupt.items():
        save(name, data)
        manifest.append(f"corrupt {name}")

    with open(os.path.join(OUT, "manifest.txt"), "w") as f:
        f.write("# Generated by tests/reference/image_reference.py; see its docstring.\n")
        f.write("\n".join(manifest) + "\n")
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print(f"wrote {len(os.listdir(OUT))} files, {total} bytes, to {os.path.normpath(OUT)}")


def huge_jpeg(jpeg, w, h):
    """The JPEG with its SOF0 frame size rewritten."""
    i = jpeg.index(b"\xff\xc0")
    return jpeg[: i + 5] + struct.pack(">HH", h, w) + jpeg[i + 9:]


if __name__ == "__main__":
    main()
