// The model bundles the app ships: vite.config.ts serves and emits models/<id>/ for each, and the
// UI offers them in its model picker. The first is the default.
export const BUNDLES = [
  { id: 'esc50', title: 'ESC-50 classes (L-MAC)' },
  { id: 'esc50-stage1', title: 'ESC-50 classes (L-MAC, stage 1)' },
  { id: 'esc50-zs', title: 'Text prompts, zero-shot (LMAC-ZS)' },
  { id: 'drums', title: 'Drum instruments (waveform model, lmac-train)' },
  { id: 'drums-cue', title: 'Drums — learned a shortcut (beep → clap)' },
  { id: 'esc50-latent', title: 'ESC-50 on a latent space (explanation synthesis)' },
] as const;
