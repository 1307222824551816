import type { BenchSection } from '../types.js';
import { engineSection } from './engine.js';
import { journalSection } from './journal.js';
import { nodesSection } from './nodes.js';
import { pageLogSection } from './page_log.js';
import { readPathSection } from './read_path.js';
import { repairSection } from './repair.js';
import { robustnessSection } from './robustness.js';
import { scenariosSection } from './scenarios.js';
import { serverSection } from './server.js';
import { wiredTigerSection } from './wiredtiger.js';

/** Every benchmark section, in the order `npm run bench` runs them. Add new sections here. */
export const sections: BenchSection[] = [engineSection, pageLogSection, journalSection, serverSection, nodesSection, readPathSection, wiredTigerSection, repairSection, scenariosSection, robustnessSection];
