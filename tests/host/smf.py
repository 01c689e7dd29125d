"""Standard MIDI File reading for the host tests (Debian's /usr/bin/python3, standard library
only): ardour-place-regions.py needs a file's length, check-instrument-render.py its notes."""


def _varlen(data, i):
    n = 0
    while True:
        n = (n << 7) | (data[i] & 0x7F)
        i += 1
        if data[i - 1] < 0x80:
            return n, i


def read_smf(path):
    """(division, tempo, events, end_ticks) of a format-0/1 file: ticks per quarter note, the
    first tempo in seconds per quarter note (0.5 when it sets none), channel events as
    (ticks, status, data bytes) in file order, and the last event's tick."""
    data = open(path, "rb").read()
    assert data[:4] == b"MThd", f"{path}: not a Standard MIDI File"
    division = int.from_bytes(data[12:14], "big")
    assert division < 0x8000, f"{path}: SMPTE time division is not supported"
    pos, end_ticks, tempo, events = 14, 0, None, []
    while pos < len(data):
        size = int.from_bytes(data[pos + 4:pos + 8], "big")
        if data[pos:pos + 4] == b"MTrk":
            i, ticks, status = pos + 8, 0, 0
            while i < pos + 8 + size:
                delta, i = _varlen(data, i)
                ticks += delta
                if data[i] >= 0x80:
                    status = data[i]
                    i += 1
                if status in (0xFF, 0xF0, 0xF7):
                    meta = data[i] if status == 0xFF else None
                    i += 1 if status == 0xFF else 0
                    n, i = _varlen(data, i)
                    if meta == 0x51 and tempo is None:
                        tempo = int.from_bytes(data[i:i + 3], "big") / 1e6
                    i += n
                else:
                    length = 1 if (status & 0xF0) in (0xC0, 0xD0) else 2
                    events.append((ticks, status, data[i:i + length]))
                    i += length
            end_ticks = max(end_ticks, ticks)
        pos += 8 + size
    return division, tempo or 0.5, events, end_ticks
