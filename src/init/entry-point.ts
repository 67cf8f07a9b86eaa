/**
 * How a service without a Dockerfile CMD starts (`shale init`): from what the project declares
 * (Procfile's web process, `[tool.fastapi] entrypoint`, FLASK_APP in .flaskenv), else from its
 * entry module as projects are laid out (main.py, app.py, app/main.py, src/<pkg>/main.py, Django's
 * manage.py + <site>/wsgi.py), served by the server its dependencies name. Undefined (and a TODO)
 * when it cannot tell, or when the server it would need is not among the dependencies: never a
 * command that fails at start.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { commandOf } from './dockerfile.js';
import { exists, readText } from './files.js';

/** Whether the dependencies name a distribution (`uvicorn`, `uvicorn[standard]>=0.20`, `"gunicorn"`), as a requirement, not inside another name. */
const needs = (deps: string, name: string): boolean => new RegExp(`(^|[\\s"',\\[])${name}(?![\\w.-])`, 'im').test(deps);
const hasUvicorn = (deps: string): boolean => needs(deps, 'uvicorn') || /fastapi\[[^\]]*\b(standard|all)\b/i.test(deps);

/** The name an app object is bound to (`app = FastAPI()`, `application = Flask(__name__)`), `app` when not found. */
const appVariable = (text: string, ctor: string): string => new RegExp(`^(\\w+)\\s*(?::[^=]+)?=\\s*(?:\\w+\\.)?${ctor}\\(`, 'm').exec(text)?.[1] ?? 'app';

const uvicorn = (target: string, extra: string[] = []): string[] => ['python3', '-m', 'uvicorn', target, ...extra, '--host', '0.0.0.0', '--port', '8000'];

/** What the guess is made from: the project directory, the text of its lock and dependencies, its pyproject. */
export interface EntryPointInput {
  dir: string;
  deps: string;
  pyproject: Record<string, unknown>;
}

/** `gunicorn TARGET`, binding 0.0.0.0:8000 unless ./gunicorn.conf.py (which gunicorn reads by itself) binds, and without TARGET when it names wsgi_app. */
async function gunicorn(dir: string, target: string, notes: string[]): Promise<string[]> {
  const conf = await readText(join(dir, 'gunicorn.conf.py'));
  if (!conf) return ['gunicorn', '--bind', '0.0.0.0:8000', target];
  notes.push('gunicorn.conf.py: gunicorn reads it from the workdir; its settings are kept');
  return ['gunicorn', ...(/^bind\s*=/m.test(conf) ? [] : ['--bind', '0.0.0.0:8000']), ...(/^wsgi_app\s*=/m.test(conf) ? [] : [target])];
}

/** The service's command, or undefined with a TODO saying what to set. */
export async function guessEntryPoint({ dir, deps, pyproject }: EntryPointInput, notes: string[], todos: string[]): Promise<string[] | undefined> {
  // What the project itself declares comes first.
  const procfile = (await readText(join(dir, 'Procfile'))).split('\n').find((l) => l.startsWith('web:'));
  if (procfile) {
    notes.push(`Procfile's web process: ${procfile.slice(4).trim()}`);
    return commandOf(procfile.slice(4).trim());
  }
  const fastapiTool = ((pyproject.tool as Record<string, unknown> | undefined)?.fastapi as Record<string, unknown> | undefined)?.entrypoint;
  if (typeof fastapiTool === 'string' && /^[\w.]+:\w+$/.test(fastapiTool)) {
    if (hasUvicorn(deps)) {
      notes.push(`[tool.fastapi] entrypoint "${fastapiTool}": served with uvicorn`);
      return uvicorn(fastapiTool);
    }
    todos.push(
      `add uvicorn to the dependencies, then set entrypoint = ${JSON.stringify(uvicorn(fastapiTool)).replace(/,/g, ', ')} ([tool.fastapi] names the app)`,
    );
    return undefined;
  }
  const flaskApp = /^FLASK_APP\s*=\s*["']?([^"'\s#]+)/m.exec(await readText(join(dir, '.flaskenv')))?.[1];
  if (flaskApp) {
    notes.push(`FLASK_APP=${flaskApp} in .flaskenv: served with ${needs(deps, 'gunicorn') ? 'gunicorn' : 'flask run'}`);
    return needs(deps, 'gunicorn')
      ? gunicorn(dir, flaskApp.includes(':') ? flaskApp : `${flaskApp.replace(/\.py$/, '')}:app`, notes)
      : ['python3', '-m', 'flask', '--app', flaskApp, 'run', '--host', '0.0.0.0', '--port', '8000'];
  }

  // Then the entry module, as projects lay it out.
  const candidates = ['main.py', 'app.py', 'server.py', 'wsgi.py', 'asgi.py', 'app/main.py', 'src/main.py'];
  for (const pkg of (await readdir(join(dir, 'src')).catch(() => [] as string[])).sort()) {
    if (await exists(join(dir, 'src', pkg, '__init__.py'))) candidates.push(`src/${pkg}/main.py`, `src/${pkg}/app.py`);
  }
  const found: { file: string; text: string }[] = [];
  for (const f of candidates) if (await exists(join(dir, f))) found.push({ file: f, text: await readText(join(dir, f)) });
  // src/<pkg>/main.py imports as <pkg>.main with src on sys.path (uvicorn's --app-dir, gunicorn's --pythonpath).
  const module = (f: string) =>
    f
      .replace(/^src\/(?=[^/]+\/)/, '')
      .replace(/\.py$/, '')
      .replace(/\//g, '.');
  const srcLayout = (f: string) => /^src\/[^/]+\//.test(f);
  const asgi = found.find((f) => /\b(FastAPI|Starlette)\(/.test(f.text));
  if (asgi) {
    const command = uvicorn(`${module(asgi.file)}:${appVariable(asgi.text, '(?:FastAPI|Starlette)')}`, srcLayout(asgi.file) ? ['--app-dir', 'src'] : []);
    if (hasUvicorn(deps)) {
      notes.push(`ASGI app in ${asgi.file}: served with uvicorn`);
      return command;
    }
    notes.push(`ASGI app in ${asgi.file}, but no uvicorn among the dependencies: entrypoint left as a TODO`);
    todos.push(`add uvicorn to the dependencies, then set entrypoint = ${JSON.stringify(command).replace(/,/g, ', ')}`);
    return undefined;
  }
  const wsgi = found.find((f) => /\bFlask\(/.test(f.text));
  if (wsgi && needs(deps, 'gunicorn')) {
    notes.push(`Flask app in ${wsgi.file}: served with gunicorn`);
    const cmd = await gunicorn(dir, `${module(wsgi.file)}:${appVariable(wsgi.text, 'Flask')}`, notes);
    return srcLayout(wsgi.file) ? [cmd[0] ?? 'gunicorn', '--pythonpath', 'src', ...cmd.slice(1)] : cmd;
  }
  if (wsgi) {
    notes.push(`Flask app in ${wsgi.file}: served with flask run (add gunicorn to the lock for production)`);
    return ['python3', '-m', 'flask', '--app', srcLayout(wsgi.file) ? wsgi.file : module(wsgi.file), 'run', '--host', '0.0.0.0', '--port', '8000'];
  }
  if (await exists(join(dir, 'manage.py'))) {
    for (const d of (await readdir(dir).catch(() => [] as string[])).sort()) {
      if (!(await exists(join(dir, d, 'wsgi.py')))) continue;
      if (needs(deps, 'gunicorn')) {
        notes.push(`Django project (manage.py, ${d}/wsgi.py): served with gunicorn`);
        return gunicorn(dir, `${d}.wsgi:application`, notes);
      }
      if (hasUvicorn(deps) && (await exists(join(dir, d, 'asgi.py')))) {
        notes.push(`Django project (manage.py, ${d}/asgi.py): served with uvicorn`);
        return uvicorn(`${d}.asgi:application`);
      }
      notes.push(
        `Django project (manage.py, ${d}/wsgi.py) with no gunicorn among the dependencies: served with manage.py runserver (add gunicorn for production)`,
      );
      return ['python3', 'manage.py', 'runserver', '0.0.0.0:8000'];
    }
  }
  const script = found.find((f) => !srcLayout(f.file));
  if (script) {
    notes.push(`entrypoint: python3 ${script.file}`);
    return ['python3', script.file];
  }
  notes.push(`no entry point found (Procfile, [tool.fastapi], .flaskenv, ${candidates.join(', ')}, manage.py): left as a TODO`);
  todos.push('set entrypoint = ["python3", "your_main.py"] (no entry point was found)');
  return undefined;
}
