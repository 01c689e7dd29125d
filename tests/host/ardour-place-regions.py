#!/usr/bin/python3
"""Places files on the tracks of a session that test-ardour.lua created, as Ardour's import
(copy to session) leaves them: Ardour's Lua session tool has no import call, so the file is
copied into the session's interchange folder and a Source, a whole-file Region and the
playlist's Region are added to the session XML. Also sets the session range (what
ardourN-export renders). Runs with Debian's /usr/bin/python3 (standard library only).

  ardour-place-regions.py SESSION_DIR NAME FRAMES [TRACK=FILE ...]
      FRAMES: the session range's length in samples. FILE: a mono WAV (audio track) or a
      Standard MIDI File (.mid, MIDI track), placed at 0 on the playlist of the track named
      TRACK: the one its Route names in audio-playlist / midi-playlist (Ardour 7 names a new
      track's playlist after the track, "clip"; Ardour 8 "clip.1")."""
import os
import re
import shutil
import sys
import wave

from smf import read_smf

REGION = ('<Region name="{name}" muted="0" opaque="1" locked="0" video-locked="0" automatic="0" '
          'whole-file="{whole}" import="0" external="0" sync-marked="0" left-of-split="0" '
          'right-of-split="0" hidden="0" position-locked="0" valid-transients="0" start="{start}" '
          'length="{length}" position="{position}" sync-position="0" ancestral-start="0" '
          'ancestral-length="0" stretch="1" shift="1" layering-index="0" envelope-active="0" '
          'default-fade-in="0" default-fade-out="0" fade-in-active="0" fade-out-active="0" '
          'scale-amplitude="1" id="{id}" type="{type}" first-edit="nothing" source-0="{src}" '
          'master-source-0="{src}" channels="1"/>')


def midi_length_beats(path):
    """Length of a Standard MIDI File in quarter notes (its last event) and its first tempo
    in seconds per quarter note (0.5 when it sets none)."""
    division, tempo, _, end_ticks = read_smf(path)
    return end_ticks / division, tempo


def main():
    session_dir, name, frames = sys.argv[1], sys.argv[2], int(sys.argv[3])
    path = os.path.join(session_dir, name + ".ardour")
    xml = open(path).read()
    rate = int(re.search(r'<Session [^>]*sample-rate="(\d+)"', xml).group(1))
    sources, regions = [], []
    next_id = 900001  # above the session's id-counter
    for spec in sys.argv[4:]:
        track, file = spec.split("=", 1)
        base = os.path.basename(file)
        midi = base.lower().endswith(".mid")
        # (Ardour names the interchange folder after the session's directory.)
        folder = os.path.join(session_dir, "interchange", os.path.basename(session_dir),
                              "midifiles" if midi else "audiofiles")
        os.makedirs(folder, exist_ok=True)
        shutil.copy(file, os.path.join(folder, base))
        if midi:
            # In samples, as for audio (Ardour 7.3 refuses to load the session with beat-time
            # "b..." values here). The file's tempo: its first set-tempo event, else 120 bpm.
            beats, tempo = midi_length_beats(file)
            length = round(beats * tempo * rate)
            fields = dict(type="midi", start="0", length=str(length), position="0")
        else:
            with wave.open(file) as w:
                assert w.getnchannels() == 1, f"{file}: the clip must be mono"
                length = w.getnframes()
            fields = dict(type="audio", start="0", length=str(length), position="0")
        source_id, whole_id, region_id = next_id, next_id + 1, next_id + 2
        next_id += 3
        fields.update(name=os.path.splitext(base)[0], src=source_id)
        sources.append(f'<Source name="{base}" type="{fields["type"]}" flags="" '
                       f'id="{source_id}" channel="0" origin="" gain="1"/>')
        regions.append(REGION.format(whole=1, id=whole_id, **fields))
        route = re.search(r'<Route [^>]*name="%s" [^>]*%s-playlist="(\d+)"'
                          % (re.escape(track), fields["type"]), xml)
        assert route, f"{path}: no {fields['type']} track '{track}'"
        playlist = re.search(r'(<Playlist id="%s" name="[^"]*" type="%s"[^>]*?)/>'
                             % (route.group(1), fields["type"]), xml)
        assert playlist, (f"{path}: the {fields['type']} playlist {route.group(1)} of track "
                          f"'{track}' is missing or not empty")
        xml = (xml[:playlist.start()] + playlist.group(1) + ">\n      "
               + REGION.format(whole=0, id=region_id, **fields) + "\n    </Playlist>"
               + xml[playlist.end():])
    replacements = [("<Locations/>", f'<Locations>\n    <Location id="{next_id}" name="session" '
                     f'start="0" end="{frames}" flags="IsSessionRange" locked="0" '
                     'timestamp="0" cue="0"/>\n  </Locations>')]
    if sources:
        replacements += [
            ("<Sources/>", "<Sources>\n    " + "\n    ".join(sources) + "\n  </Sources>"),
            ("<Regions/>", "<Regions>\n    " + "\n    ".join(regions) + "\n  </Regions>")]
    for empty, full in replacements:
        assert empty in xml, f"{path}: no {empty} in a new session"
        xml = xml.replace(empty, full, 1)
    xml = xml.replace('session-range-is-free="1"', 'session-range-is-free="0"')
    open(path, "w").write(xml)


if __name__ == "__main__":
    main()
