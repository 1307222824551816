import { expect } from 'chai';
import { ServerParameters } from '../options/index.js';
import { builtinCommands, CommandRegistry, defineCommand, type CommandEntry } from './index.js';

describe('commands: registry', () => {
  it('loads every built-in command under the name and aliases it is listed with', async () => {
    const registry = new CommandRegistry(builtinCommands);
    const definitions = await registry.definitions();
    expect(definitions.map((definition) => definition.name)).to.have.members(builtinCommands.map((entry) => entry.name));
    for (const entry of builtinCommands) {
      for (const name of [entry.name, ...(entry.aliases ?? [])]) {
        const parameters = new ServerParameters();
        parameters.setFromStartupString('enableTestCommands', '1');
        parameters.setFromStartupString('enableRepairCommands', '1');
        expect((await registry.resolve(name, parameters)).name).to.equal(entry.name);
      }
    }
  });

  it('loads a command module once, when it is first resolved', async () => {
    let loads = 0;
    const entry: CommandEntry = {
      name: 'countLoads',
      load: async () => {
        loads += 1;
        return defineCommand({ name: 'countLoads', help: 'counts', run: () => ({}) });
      },
    };
    const registry = new CommandRegistry([entry]);
    expect(loads).to.equal(0);
    await Promise.all([registry.resolve('countLoads', new ServerParameters()), registry.resolve('countLoads', new ServerParameters())]);
    expect(loads).to.equal(1);
  });

  it('refuses a command module that defines another name than its entry', async () => {
    const registry = new CommandRegistry([{ name: 'listed', load: async () => defineCommand({ name: 'other', help: 'x', run: () => ({}) }) }]);
    let failure: unknown;
    await registry.resolve('listed', new ServerParameters()).catch((error: unknown) => (failure = error));
    expect(String(failure)).to.match(/defines "other"/);
  });
});
