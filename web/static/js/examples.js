// The example prompts from the API guide's table.
export const EXAMPLES = [
  { genre: "Ambient", prompt: "Ethereal ambient soundscape with soft pads and distant chimes" },
  { genre: "Classical", prompt: "Romantic piano piece in the style of Chopin with expressive dynamics" },
  { genre: "Electronic", prompt: "Energetic techno track with driving bassline and hypnotic synth arpeggios" },
  { genre: "Jazz", prompt: "Smooth jazz quartet with walking bass, brushed drums, and mellow saxophone" },
  { genre: "Rock", prompt: "Heavy rock anthem with distorted guitars, powerful drums, and epic chorus" },
  { genre: "Folk", prompt: "Acoustic folk ballad with fingerpicked guitar and harmonica" },
  { genre: "Cinematic", prompt: "Epic orchestral score with soaring strings and triumphant brass fanfare" },
  { genre: "Lo-fi", prompt: "Chill lo-fi hip hop beat with vinyl crackle and mellow piano chords" },
];
