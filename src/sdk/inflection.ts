/** Singular forms of English resource names, for resource types and actions. */

const UNCOUNTABLE = new Set([
  'news',
  'data',
  'metadata',
  'media',
  'series',
  'species',
  'info',
  'information',
  'equipment',
  'feedback',
  'analytics',
  'alias',
  'bias',
  'canvas',
  'gas',
  'atlas',
  'axis',
  'chaos',
  'kudos',
  'dns',
  'sms',
  'https',
  'aws',
  'gps',
]);

const IRREGULAR: Record<string, string> = {
  people: 'person',
  children: 'child',
  men: 'man',
  women: 'woman',
  mice: 'mouse',
  geese: 'goose',
  feet: 'foot',
  teeth: 'tooth',
  indices: 'index',
  matrices: 'matrix',
  vertices: 'vertex',
  appendices: 'appendix',
  criteria: 'criterion',
  phenomena: 'phenomenon',
  analyses: 'analysis',
  bases: 'base',
  diagnoses: 'diagnosis',
  theses: 'thesis',
  crises: 'crisis',
  aliases: 'alias',
  quizzes: 'quiz',
  biases: 'bias',
  canvases: 'canvas',
  caches: 'cache',
  niches: 'niche',
  knives: 'knife',
  wives: 'wife',
  lives: 'life',
  leaves: 'leaf',
  shelves: 'shelf',
  halves: 'half',
  wolves: 'wolf',
  movies: 'movie',
  cookies: 'cookie',
  zombies: 'zombie',
  selfies: 'selfie',
  calories: 'calorie',
  rookies: 'rookie',
  genies: 'genie',
  pies: 'pie',
  ties: 'tie',
  lies: 'lie',
  menus: 'menu',
  emus: 'emu',
  gnus: 'gnu',
  excuses: 'excuse',
  fuses: 'fuse',
  abuses: 'abuse',
  muses: 'muse',
  heroes: 'hero',
  potatoes: 'potato',
  tomatoes: 'tomato',
  echoes: 'echo',
  vetoes: 'veto',
};

function singularizeWord(word: string): string {
  if (word.length <= 2 || UNCOUNTABLE.has(word)) return word;
  const irregular = IRREGULAR[word];
  if (irregular !== undefined && Object.prototype.hasOwnProperty.call(IRREGULAR, word)) return irregular;
  if (/[^aeiou]ies$/.test(word)) return word.slice(0, -3) + 'y'; // policies → policy
  if (/(?:ss|x|ch|sh|zz)es$/.test(word)) return word.slice(0, -2); // addresses, boxes, batches, wishes, quizzes
  if (/[aeiou]uses$/.test(word)) return word.slice(0, -1); // houses, causes
  if (/uses$/.test(word)) return word.slice(0, -2); // statuses, buses, campuses
  if (/(?:ss|us|sis)$/.test(word)) return word; // address, status, analysis
  if (word.endsWith('s')) return word.slice(0, -1);
  return word;
}

/**
 * Singular form of a (lowercased) resource name: `users` → `user`,
 * `policies` → `policy`, `addresses` → `address`, `statuses` → `status`,
 * `boxes` → `box`, `batches` → `batch`; `news` and `data` stay. In kebab or
 * snake case only the last word changes: `api-keys` → `api-key`,
 * `api_keys` → `api_key`.
 */
export function singularize(word: string): string {
  const lower = word.toLowerCase();
  const cut = Math.max(lower.lastIndexOf('-'), lower.lastIndexOf('_')) + 1;
  return cut > 0 ? lower.slice(0, cut) + singularizeWord(lower.slice(cut)) : singularizeWord(lower);
}
