-- Headless Ardour (ardour8-lua or ardour7-lua, Ardour's Lua session tool): creates a session
-- (44.1 kHz, or LATENT_SESSION_RATE) with one mono track named "clip" (audio, or MIDI when
-- LATENT_TRACK_TYPE=midi) and the LV2 plugin given in LATENT_PLUGIN_URI inserted first on it,
-- then saves it. test-ardour.sh places the clips (regions) on the tracks and exports.
-- Environment: LATENT_SESSION_DIR, LATENT_SESSION_NAME, LATENT_PLUGIN_URI (and LV2_PATH, which
-- Ardour's LV2 scan honours). Optional:
--   LATENT_PLUGIN_PARAMS  "LABEL=VALUE ..." plugin parameters by their port name (lv2:name).
--   LATENT_SIDECHAIN=1    a second mono audio track "timbre" feeding the plugin's sidechain
--                         input through a pre-fader send; its own output is disconnected, so
--                         only the plugin's output reaches the master bus (and the export).
local dir = assert (os.getenv ("LATENT_SESSION_DIR"))
local name = assert (os.getenv ("LATENT_SESSION_NAME"))
local uri = assert (os.getenv ("LATENT_PLUGIN_URI"))
local track_type = os.getenv ("LATENT_TRACK_TYPE") or "audio"

AudioEngine:set_backend ("None (Dummy)", "", "")
assert (AudioEngine:current_backend_name () == "Dummy", "Ardour's Dummy backend is missing")
local rate = tonumber (os.getenv ("LATENT_SESSION_RATE") or "44100")
local session = create_session (dir, name, rate)
assert (session, "cannot create a session in " .. dir)

if track_type == "midi" then
  -- No instrument of Ardour's own (an empty PluginInfo): the latent plugin is the instrument.
  -- Not strict I/O: Ardour counts the sidechain (timbre) audio input as an input, so it does
  -- not take the plugin for an instrument, and strict I/O would keep the insert's output MIDI.
  tracks = Session:new_midi_track (ARDOUR.ChanCount (ARDOUR.DataType ("midi"), 1),
    ARDOUR.ChanCount (ARDOUR.DataType ("audio"), 2), false, ARDOUR.PluginInfo (), nil, nil, 1,
    "clip", ARDOUR.PresentationInfo.max_order, ARDOUR.TrackMode.Normal, true)
else
  tracks = Session:new_audio_track (1, 2, nil, 1, "clip",
    ARDOUR.PresentationInfo.max_order, ARDOUR.TrackMode.Normal, true)
end
assert (tracks:size () == 1, "cannot add a " .. track_type .. " track")
track = tracks:front ()

plugin = ARDOUR.LuaAPI.new_plugin (Session, uri, ARDOUR.PluginType.LV2, "")
assert (not plugin:isnil (), "Ardour does not find the LV2 plugin " .. uri ..
  " (LV2_PATH=" .. tostring (os.getenv ("LV2_PATH")) .. ")")
assert (track:add_processor_by_index (plugin, 0, nil, true) == 0,
  "cannot insert " .. uri .. " on the track")
insert = track:nth_plugin (0):to_insert ()
print ("ardour: inserted " .. insert:plugin (0):name () .. " on track " .. track:name ())

-- Parameters by label: Ardour numbers a plugin's parameters its own way (control ports,
-- inputs and outputs), so the index is looked up rather than assumed.
for label, value in string.gmatch (os.getenv ("LATENT_PLUGIN_PARAMS") or "", "([^%s=]+)=(%S+)") do
  local lv2 = insert:plugin (0)
  local found = false
  for i = 0, lv2:parameter_count () - 1 do
    -- (A C++ reference argument: Lua gets the return value, then a table of the arguments.)
    local index = lv2:nth_parameter (i, false)
    if lv2:parameter_is_input (index) and lv2:parameter_label (index) == label then
      assert (ARDOUR.LuaAPI.set_processor_param (plugin, i, tonumber (value)),
        "test-ardour.lua: cannot set parameter " .. label .. " of " .. uri)
      print ("ardour: " .. label .. " = " ..
        ARDOUR.LuaAPI.get_processor_param (plugin, i, false))
      found = true
    end
  end
  assert (found, "test-ardour.lua: " .. uri .. " has no input parameter labelled " .. label)
end

if os.getenv ("LATENT_SIDECHAIN") == "1" then
  local timbre = Session:new_audio_track (1, 2, nil, 1, "timbre",
    ARDOUR.PresentationInfo.max_order, ARDOUR.TrackMode.Normal, true):front ()
  assert (not timbre:isnil (), "cannot add the timbre track")
  -- The plugin's sidechain input (an IO of its own), created when missing.
  pi = plugin:to_plugininsert ()
  if pi:sidechain_input ():isnil () then
    assert (track:add_sidechain (plugin), "cannot add a sidechain input to " .. uri)
  end
  local sidechain = pi:sidechain_input ()
  assert (not sidechain:isnil (), "test-ardour.lua: " .. uri .. " has no sidechain input")
  -- Pre-fader send (placed before the fader) on the timbre track, into the sidechain.
  local send = ARDOUR.LuaAPI.new_send (Session, timbre, timbre:amp ())
  assert (not send:isnil (), "cannot add a send to the timbre track")
  send:to_send ():output ():nth (0):connect (sidechain:nth (0):name ())
  timbre:output ():disconnect_all (nil)
  print ("ardour: timbre track sent to the sidechain input " .. sidechain:nth (0):name () ..
    " (" .. sidechain:n_ports ():n_audio () .. " audio port(s)), its output disconnected")
  timbre, sidechain, send = nil, nil, nil
end

-- The latency Ardour reads from the plugin (its reportsLatency port) and the track's.
print ("ardour: latency of " .. insert:plugin (0):name () .. ": " .. insert:signal_latency () ..
  " frames; track " .. track:signal_latency ())
Session:save_state ("", false, false, false, false, false)
-- Drop the script's references to session objects first: collected after close_session they
-- would unregister ports of a gone engine (Ardour 7.3 crashes at exit).
tracks, track, plugin, insert, pi = nil, nil, nil, nil, nil
collectgarbage ()
close_session ()
quit ()
