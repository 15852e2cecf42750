"""MLflow's artifact calls beyond single files: log_artifacts, log_figure,
log_image, log_table and log_input, with duck typing instead of imports
(matplotlib's savefig, PIL's save, numpy's shape and tolist, pandas'
to_dict)."""

import json
import os
import shutil
import struct
import tempfile
import zlib

from . import _run
from .exceptions import InvalidTypeError, InvalidValueError


def log_artifacts(local_dir, artifact_path=None, run_id=None):
    """Stores every file under local_dir, under artifact_path if given."""
    if not os.path.isdir(local_dir):
        raise InvalidValueError("log_artifacts: %s is not a directory" % local_dir)
    r = _run._target(run_id)
    base = (artifact_path or "").strip("/")
    for root, dirs, files in os.walk(local_dir):
        dirs.sort()
        for f in sorted(files):
            p = os.path.join(root, f)
            rel = os.path.relpath(p, local_dir).replace(os.sep, "/")
            dest = base + "/" + rel if base else rel
            r._binary_call(["artifact", "--run", r.id, "--as", dest, os.path.abspath(p)])


def _stored(run_id, artifact_file, write):
    """Calls write(path) for a file in a temporary directory, then stores it
    as artifact_file."""
    r = _run._target(run_id)
    d = tempfile.mkdtemp(prefix="gitruns-")
    try:
        p = os.path.join(d, os.path.basename(artifact_file) or "artifact")
        write(p)
        r._binary_call(["artifact", "--run", r.id, "--as", artifact_file.strip("/"), p])
    finally:
        shutil.rmtree(d, ignore_errors=True)


def log_figure(figure, artifact_file, save_kwargs=None, run_id=None):
    """Stores a matplotlib (anything with savefig) or plotly (write_image or
    write_html) figure; the format follows artifact_file's extension."""
    kw = dict(save_kwargs or {})
    if hasattr(figure, "savefig"):
        _stored(run_id, artifact_file, lambda p: figure.savefig(p, **kw))
    elif artifact_file.endswith(".html") and hasattr(figure, "write_html"):
        _stored(run_id, artifact_file, lambda p: figure.write_html(p, **kw))
    elif hasattr(figure, "write_image"):
        _stored(run_id, artifact_file, lambda p: figure.write_image(p, **kw))
    else:
        raise InvalidTypeError("log_figure: %s is not a figure (no savefig)" % type(figure).__name__)


def log_image(image, artifact_file=None, key=None, step=None, timestamp=None, run_id=None):
    """Stores a PIL image (anything with save) or an array of shape (H, W),
    (H, W, 1), (H, W, 3) or (H, W, 4) as a PNG, read as MLflow reads it:
    integers 0-255, floats 0-1 (times 255, truncated); a value out of range
    is an error. numpy arrays (duck-typed by dtype, astype and tobytes) are
    converted in one pass; nested lists are read value by value. With key
    instead of artifact_file, it goes to images/<key>/step_<step>.png."""
    if artifact_file is None:
        if key is None:
            raise InvalidValueError("log_image: give artifact_file or key")
        artifact_file = "images/%s/step_%d.png" % (key, step or 0)
    if hasattr(image, "save") and not hasattr(image, "tolist"):
        _stored(run_id, artifact_file, lambda p: image.save(p))
        return
    if hasattr(image, "tobytes") and hasattr(image, "astype") and hasattr(image, "dtype"):
        data = png(*_array_pixels(image))
    else:
        data = png(*_list_pixels(image.tolist() if hasattr(image, "tolist") else image))
    _stored(run_id, artifact_file, lambda p: _write(p, data))


def _write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def _check_shape(shape):
    if len(shape) not in (2, 3) or shape[0] == 0 or shape[1] == 0:
        raise InvalidValueError("log_image: an image needs a shape (H, W) or (H, W, C), not %r" % (shape,))
    ch = shape[2] if len(shape) == 3 else 0
    if ch not in (0, 1, 3, 4):
        raise InvalidValueError("log_image: %d channels; want 1, 3 or 4" % ch)
    return shape[0], shape[1], ch


def _array_pixels(a):
    """Height, width, channels and the bytes of a numpy-like array."""
    h, w, ch = _check_shape(tuple(a.shape))
    kind = str(a.dtype)
    if kind == "bool":
        a = a.astype("uint8")
        kind = "uint8"
    floats = kind.startswith("float")
    if not (floats or "int" in kind):
        raise InvalidTypeError("log_image: values of type %s; want integers or floats" % kind)
    hi = 1 if floats else 255
    if a.min() < 0 or a.max() > hi:
        raise InvalidValueError("log_image: values out of range: %s values must be in [0, %d]"
                                % ("float" if floats else "integer", hi))
    if floats:
        a = a * 255
    return h, w, ch, a.astype("uint8").tobytes()


def _list_pixels(rows):
    """Height, width, channels and the bytes of nested lists of pixels."""
    if not isinstance(rows, list) or not rows or not isinstance(rows[0], list):
        raise InvalidValueError("log_image: an image needs a shape (H, W) or (H, W, C)")
    first = rows[0][0] if rows[0] else None
    ch = len(first) if isinstance(first, (list, tuple)) else 0
    h, w, ch = _check_shape((len(rows), len(rows[0])) + ((ch,) if ch else ()))
    flat = []
    for row in rows:
        if len(row) != w:
            raise InvalidValueError("log_image: rows of different lengths")
        for px in row:
            if ch:
                if not isinstance(px, (list, tuple)) or len(px) != ch:
                    raise InvalidValueError("log_image: pixels of different channel counts")
                flat.extend(px)
            else:
                flat.append(px)
    floats = any(isinstance(v, float) for v in flat)
    hi = 1 if floats else 255
    if any(v < 0 or v > hi for v in flat):
        raise InvalidValueError("log_image: values out of range: %s values must be in [0, %d]"
                                % ("float" if floats else "integer", hi))
    return h, w, ch, bytes(int(v * 255) if floats else int(v) for v in flat)


def png(h, w, ch, pixels):
    """A PNG of h rows of w pixels of ch channels (0: gray), 8 bits each."""
    color = {0: 0, 1: 0, 3: 2, 4: 6}[ch]
    stride = w * max(ch, 1)
    raw = bytearray()
    for i in range(h):
        raw.append(0)  # filter type None
        raw += pixels[i * stride:(i + 1) * stride]

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xffffffff)

    ihdr = struct.pack(">IIBBBBB", w, h, 8, color, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(bytes(raw))) + chunk(b"IEND", b"")


def log_table(data, artifact_file, run_id=None):
    """Stores a table as MLflow does: JSON {"columns": [...], "data": [[...],
    ...]}. data is a dict of equal-length columns or a pandas DataFrame
    (duck-typed by to_dict)."""
    if hasattr(data, "to_dict") and not isinstance(data, dict):
        data = data.to_dict(orient="list")
    if not isinstance(data, dict):
        raise InvalidTypeError("log_table: data must be a dict of columns or a DataFrame")
    cols = [str(c) for c in data]
    values = [list(v.tolist() if hasattr(v, "tolist") else v) for v in data.values()]
    n = {len(v) for v in values}
    if len(n) > 1:
        raise InvalidValueError("log_table: columns of different lengths")
    table = {"columns": cols, "data": [list(r) for r in zip(*values)]}
    _run.log_dict(table, artifact_file, run_id=run_id)


def log_input(dataset, context=None, tags=None, run_id=None):
    """Records a dataset the run used as git runs serve records MLflow's
    dataset inputs: in the tag gitruns.mlflow.inputs, JSON
    {"dataset_inputs": [{"tags": [{"key", "value"}], "dataset": {"name",
    "digest", "source_type", "source", "schema", "profile"}}]}, each dataset
    once; context goes in as the input tag mlflow.data.context. dataset is
    anything with MLflow's Dataset attributes, or a dict of them."""
    d = dataset if isinstance(dataset, dict) else None
    info = {}
    for k in ("name", "digest", "source_type", "source", "schema", "profile"):
        v = d.get(k) if d is not None else getattr(dataset, k, None)
        if v is not None and not isinstance(v, str):
            to_json = getattr(v, "to_json", None)
            v = to_json() if callable(to_json) else (json.dumps(v) if isinstance(v, (dict, list)) else str(v))
        if v is not None:
            info[k] = v
    if "name" not in info:
        raise InvalidValueError("log_input: the dataset has no name")
    itags = [{"key": "mlflow.data.context", "value": str(context)}] if context is not None else []
    itags += [{"key": str(k), "value": str(v)} for k, v in (tags or {}).items()]
    r = _run._target(run_id)
    rec = json.loads(r._binary_call(["show", "--json", r.id]))
    try:
        inputs = json.loads((rec.get("tags") or {}).get("gitruns.mlflow.inputs") or "{}")
    except ValueError:
        inputs = {}
    ds = inputs.setdefault("dataset_inputs", [])
    entry = {"tags": itags, "dataset": info}
    if entry not in ds:
        ds.append(entry)
    r.set_tags({"gitruns.mlflow.inputs": json.dumps(inputs, sort_keys=True)})
