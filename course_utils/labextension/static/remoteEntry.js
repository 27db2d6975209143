/*
 * course-utils-links: open a notebook at the cell or section named in its URL, and copy a link to
 * the cell you are on.
 *
 * Two plugins:
 *   course-utils-links:open-at-fragment  lands a fresh page load on the URL's #cell-id= or #Heading;
 *   course-utils-links:copy-link         the command "Copy Link to This Cell" (cell context menu and
 *                                        command palette), described after the first plugin.
 *
 * open-at-fragment:
 * Why: forum mentors paste links such as /lab/tree/learning-rate/02_sweep.ipynb#cell-id=test-plot-loss-against-rate
 * (printed by `course link`). JupyterLab 4 applies a URL fragment to the notebook that is current
 * when the page routes. On a fresh page load the linked notebook is not open yet at that moment,
 * so the fragment is dropped and the student lands at the top. This plugin remembers the fragment
 * and the path from the address the page was loaded with, waits for that notebook to become the
 * current widget and ready, then hands the fragment to the notebook's own setFragment (the same
 * call JupyterLab makes on later route changes), and keeps the target in place for a few seconds
 * while the notebook lays out the cells around it (keepInPlace). It acts once per page load and on
 * nothing else.
 *
 * Why no build step: the plugins import nothing from JupyterLab at build time (they use the
 * application object they are given, and copy-link takes one shared module from the share scope at
 * run time), so they need no bundler. JupyterLab loads a prebuilt extension by running this file
 * and calling the two functions of webpack's container interface on
 * window._JUPYTERLAB[<package name>]: init(shareScope) and get(module). They are written out
 * below; tests/test_browser.py checks that JupyterLab activates the plugins, that links land on a
 * fresh load, and that a copied link lands on its cell.
 */
(function () {
  'use strict';

  var PACKAGE = 'course-utils-links';
  var PLUGIN_ID = PACKAGE + ':open-at-fragment';
  // remoteEntry.js's own address, readable only while this file runs: course-links.json sits next to it.
  var SCRIPT_URL =
    (typeof document !== 'undefined' && document.currentScript && document.currentScript.src) || '';
  // The document part of JupyterLab and Notebook 7 addresses, after the server's base URL:
  // /lab/tree/<path>, /lab/workspaces/<name>/tree/<path>, /notebooks/<path>.
  var DOCUMENT_PATH = /\/(?:lab(?:\/workspaces\/[^/]+)?\/tree|notebooks)\/(.+)$/;
  var HEADING_WAIT_MS = 20000;
  // How long the target is kept in place while the notebook lays out the cells around it.
  var SETTLE_MS = 5000;
  // A link followed in a second tab makes JupyterLab reload the page into a workspace of its own,
  // and that reload can drop the address's fragment: the target is kept in this tab's
  // sessionStorage for that long, and used once by the reloaded page.
  var PENDING_KEY = PACKAGE + ':pending-link';
  var PENDING_MS = 60000;

  /** The notebook path in a page address, or null. */
  function documentPath(location) {
    var match = DOCUMENT_PATH.exec(location.pathname || '');
    return match ? match[1].split('/').map(decodeURIComponent).join('/') : null;
  }

  /** The notebook path and fragment a page address names, or null if there is nothing to do. */
  function linkTarget(location) {
    var hash = location.hash || '';
    var path = documentPath(location);
    return hash.length > 1 && path ? { path: path, fragment: hash } : null;
  }

  /** Remember ``target`` for a reload of this tab that loses the fragment (see PENDING_KEY). */
  function rememberTarget(target) {
    try {
      window.sessionStorage.setItem(
        PENDING_KEY,
        JSON.stringify({ path: target.path, fragment: target.fragment, at: Date.now() })
      );
    } catch (error) {
      // no sessionStorage (private mode, sandbox): the fragment in the address is all there is
    }
  }

  function forgetTarget() {
    try {
      window.sessionStorage.removeItem(PENDING_KEY);
    } catch (error) {
      // nothing was stored
    }
  }

  /** A target remembered by this tab moments ago for the notebook this address names, or null. */
  function rememberedTarget(location) {
    try {
      var saved = JSON.parse(window.sessionStorage.getItem(PENDING_KEY) || 'null');
      forgetTarget();
      if (saved && Date.now() - saved.at < PENDING_MS && saved.path === documentPath(location)) {
        return { path: saved.path, fragment: saved.fragment };
      }
    } catch (error) {
      // unreadable: nothing to do
    }
    return null;
  }

  function isNotebookPanel(widget) {
    return Boolean(
      widget && widget.context && typeof widget.setFragment === 'function' && widget.content
    );
  }

  /**
   * Resolve once the notebook can find the fragment's target. A cell id is found in the model at
   * once; a heading anchor only once its markdown cell has rendered, which on a fresh load comes
   * after the notebook is ready (JupyterLab looks the anchor up in the rendered page). Gives up
   * waiting after HEADING_WAIT_MS and lets setFragment try anyway.
   */
  function anchorRendered(widget, fragment) {
    var value = fragment.slice(1);
    if (/^cell-id=/.test(value)) {
      return Promise.resolve();
    }
    var names = [value];
    try {
      names.push(decodeURIComponent(value));
    } catch (error) {
      // not percent-encoded: the raw value is the anchor
    }
    var selector = names
      .map(function (name) {
        var quoted = window.CSS && CSS.escape ? CSS.escape(name) : name;
        return '[id="' + quoted + '"], [data-jupyter-id="' + quoted + '"]';
      })
      .join(', ');
    var started = Date.now();
    return new Promise(function (resolve) {
      (function poll() {
        if (widget.node.querySelector(selector) || Date.now() - started > HEADING_WAIT_MS) {
          resolve();
        } else {
          setTimeout(poll, 100);
        }
      })();
    });
  }

  /** The element the fragment names in the notebook (a cell, or a heading), or null if not drawn. */
  function targetElement(widget, fragment) {
    var value = fragment.slice(1);
    var cellId = /^cell-id=(.*)$/.exec(value);
    if (cellId) {
      var id = decodeURIComponent(cellId[1]);
      var cell = widget.content.widgets.filter(function (candidate) {
        return candidate.model && candidate.model.id === id;
      })[0];
      return cell && cell.node.isConnected ? cell.node : null;
    }
    var anchor = decodeURIComponent(value);
    var headings = widget.content.node.querySelectorAll('h1, h2, h3, h4, h5, h6');
    for (var i = 0; i < headings.length; i++) {
      if ((headings[i].getAttribute('data-jupyter-id') || headings[i].id) === anchor) {
        return headings[i];
      }
    }
    return null;
  }

  /**
   * Keep the target at the top while the notebook settles. The notebook draws only the cells near
   * the view and estimates the height of the others, so right after setFragment scrolled, the cells
   * above the target can take their real height and push it down the page (seen on a loaded
   * machine: the cell active, but near the bottom of the view). Until the target has stayed in
   * place for three checks in a row (in the top quarter of the view, or in view with the notebook
   * scrolled to its end, as far as a cell near the end can go), the fragment is applied again, for
   * at most SETTLE_MS. The student scrolling, clicking or typing, or following another link (the
   * address's fragment changes), ends it at once.
   */
  function keepInPlace(widget, fragment) {
    var view = widget.content.node;
    var started = Date.now();
    var steady = 0;
    var stopped = false;
    function stop() {
      stopped = true;
    }
    ['wheel', 'mousedown', 'keydown', 'touchstart'].forEach(function (name) {
      view.addEventListener(name, stop, { once: true, passive: true });
    });
    return new Promise(function (resolve) {
      (function check() {
        var moved = window.location.hash && window.location.hash !== fragment; // another link followed
        if (stopped || moved || Date.now() - started > SETTLE_MS) {
          resolve();
          return;
        }
        var element = targetElement(widget, fragment);
        var box = view.getBoundingClientRect();
        var top = element ? element.getBoundingClientRect().top - box.top : -1;
        var atEnd = view.scrollTop + view.clientHeight >= view.scrollHeight - 2;
        if (element && top >= -2 && (top < box.height / 4 || (atEnd && top < box.height))) {
          steady += 1;
        } else {
          steady = 0;
          widget.setFragment(fragment);
        }
        if (steady >= 3) {
          resolve();
        } else {
          setTimeout(check, 250);
        }
      })();
    });
  }

  function activate(app) {
    var target = linkTarget(window.location);
    if (target) {
      rememberTarget(target);
    } else {
      target = rememberedTarget(window.location);
    }
    var shell = app.shell;
    var done = false;
    if (!target) {
      return;
    }

    function land(widget) {
      if (done || !isNotebookPanel(widget) || widget.context.path !== target.path) {
        return;
      }
      done = true;
      if (shell.currentChanged) {
        shell.currentChanged.disconnect(onCurrentChanged);
      }
      var revealed = widget.revealed || Promise.resolve();
      Promise.all([widget.context.ready, revealed])
        .then(function () {
          return anchorRendered(widget, target.fragment);
        })
        .then(function () {
          return widget.setFragment(target.fragment);
        })
        .then(function () {
          return keepInPlace(widget, target.fragment);
        })
        .then(forgetTarget)
        .catch(function (reason) {
          console.warn(PLUGIN_ID + ': could not open ' + target.path + ' at ' + target.fragment, reason);
        });
    }

    function onCurrentChanged(sender, change) {
      land(change && change.newValue);
    }

    if (shell.currentChanged) {
      shell.currentChanged.connect(onCurrentChanged);
    }
    // The notebook may already be current (restored with the workspace) when the plugin starts.
    app.restored.then(function () {
      land(shell.currentWidget);
    });
  }


  /*
   * copy-link: "Copy Link to This Cell" puts on the clipboard one markdown line that links the
   * active cell (or the cell right-clicked), or its section when the cell is a heading:
   *
   *   [02_sweep.ipynb: Tune the Learning Rate](<site>/learning-rate/02_sweep.html#Tune-the-Learning-Rate) ([open in JupyterLab](<lab>/lab/tree/learning-rate/02_sweep.ipynb#cell-id=tune-the-learning-rate))
   *
   * the same line as `course link <cell id> --format markdown` (course_tools/links.py; the functions
   * below follow it rule for rule, and tests/test_copy_link.py compares the two on every cell of the
   * course). The site link is the course site's page (`course site`); its address and the course's
   * notebooks come from course-links.json next to this file, which `course site` writes from
   * [tool.course] site_url in pyproject.toml. The JupyterLab link is this server's own address.
   * A notebook that is not one of the course's gets the JupyterLab link only.
   *
   * The command palette and notifications come from JupyterLab's shared @jupyterlab/apputils
   * module, taken from the share scope JupyterLab hands to init(); without it the command still
   * works from the context menu.
   */
  var COPY_PLUGIN_ID = PACKAGE + ':copy-link';
  var COPY_COMMAND = PACKAGE + ':copy-link-to-cell';
  var CONFIG_FILE = 'course-links.json';
  // Characters Python's urllib.parse.quote leaves alone in a fragment (course_tools.links._FRAGMENT_SAFE).
  var FRAGMENT_SAFE = "?/:@!$&'()*+,;=-._~";
  var ATX_HEADING = /^ {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$/;
  var FENCE = /^ {0,3}(`{3,}|~{3,})/;
  var LINE_BREAK = /\r\n|[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]/;

  /** Python's urllib.parse.quote(text, safe): UTF-8 percent-encoding, `safe` and A-Za-z0-9_.-~ kept. */
  function pyQuote(text, safe) {
    return encodeURIComponent(text)
      .replace(/[!'()*]/g, function (c) {
        return '%' + c.charCodeAt(0).toString(16).toUpperCase();
      })
      .replace(/%([0-9A-F]{2})/g, function (match, hex) {
        var c = String.fromCharCode(parseInt(hex, 16));
        return safe.indexOf(c) >= 0 ? c : match;
      });
  }

  function quotePath(path) {
    return path
      .split('/')
      .map(function (part) {
        return pyQuote(part, '');
      })
      .join('/');
  }

  function unescapeHtml(text) {
    if (typeof document === 'undefined') {
      return text;
    }
    var area = document.createElement('textarea');
    area.innerHTML = text;
    return area.value;
  }

  /** The text a browser shows for a heading's inline markdown (links.heading_text). */
  function headingText(markdown) {
    var text = markdown;
    text = text.replace(/!\[([^\]]*)\]\([^)]*\)/g, '$1');
    text = text.replace(/\[([^\]]*)\]\([^)]*\)/g, '$1');
    text = text.replace(/`+([^`]*?)`+/g, '$1');
    text = text.replace(/<[^>]+>/g, '');
    text = text.replace(/(\*\*|__)(.+?)\1/g, '$2');
    text = text.replace(/(?<![\p{L}\p{N}_*])([*_])(?!\s)(.+?)(?<!\s)\1(?![\p{L}\p{N}_*])/gu, '$2');
    text = text.replace(/\\([\\`*_{}[\]()#+\-.!])/g, '$1');
    return unescapeHtml(text).trim();
  }

  /** JupyterLab's id for a heading (links.heading_anchor): every space becomes '-'. */
  function headingAnchor(text) {
    return text.split(' ').join('-');
  }

  /** The ATX headings of a markdown cell, skipping fenced code (links.iter_headings). */
  function headings(source) {
    var found = [];
    var fence = null;
    source.split(LINE_BREAK).forEach(function (line) {
      var opener = FENCE.exec(line);
      if (opener) {
        var marker = opener[1];
        if (fence === null) {
          fence = marker[0];
        } else if (marker[0] === fence) {
          fence = null;
        }
        return;
      }
      if (fence !== null) {
        return;
      }
      var match = ATX_HEADING.exec(line);
      if (match) {
        found.push({ level: match[1].length, text: headingText(match[2]) });
      }
    });
    return found;
  }

  /** The first meaningful line of a cell, at most 72 characters (links._summary). */
  function summary(source) {
    var lines = source.split(LINE_BREAK);
    for (var i = 0; i < lines.length; i++) {
      var line = lines[i].trim().replace(/^#+/, '').trim();
      if (line) {
        var chars = Array.from(line);
        return chars.length <= 72 ? line : chars.slice(0, 69).join('') + '...';
      }
    }
    return '';
  }

  function markdownUrl(url) {
    return /[() ]/.test(url) ? '<' + url + '>' : url;
  }

  /** The course notebook a server path is (e.g. notebooks/learning-rate/02_sweep.ipynb -> learning-rate/02_sweep.ipynb), or null. */
  function courseNotebook(path, notebooks) {
    var list = notebooks || [];
    for (var i = 0; i < list.length; i++) {
      if (path === list[i] || path.slice(-(list[i].length + 1)) === '/' + list[i]) {
        return list[i];
      }
    }
    return null;
  }

  /**
   * The links for one cell (links.find_target by cell id, then build_links and as_markdown).
   * cell: {id, type, source, index}; where: {path, baseUrl, siteUrl, notebooks}.
   */
  function cellLinks(cell, where) {
    var path = where.path.replace(/^[^/:]+:/, ''); // drop a drive prefix such as "RTC:"
    var name = path.split('/').pop();
    var found = cell.type === 'markdown' ? headings(cell.source) : [];
    var heading = found.length ? found[0].text : null;
    var anchor = heading !== null ? headingAnchor(heading) : null;
    var title = heading || summary(cell.source) || 'cell ' + cell.index;
    var notebookUrl = where.baseUrl.replace(/\/+$/, '') + '/lab/tree/' + quotePath(path);
    var labCell = cell.id ? notebookUrl + '#cell-id=' + pyQuote(cell.id, FRAGMENT_SAFE) : null;
    var labSection = anchor ? notebookUrl + '#' + pyQuote(anchor, FRAGMENT_SAFE) : null;
    var siteSection = null;
    var siteCell = null;
    var notebook = where.siteUrl ? courseNotebook(path, where.notebooks) : null;
    if (notebook) {
      var page = where.siteUrl.replace(/\/+$/, '') + '/' + quotePath(notebook.replace(/\.ipynb$/, '') + '.html');
      siteSection = anchor ? page + '#' + pyQuote(anchor, FRAGMENT_SAFE) : null;
      siteCell = cell.id ? page + '#cell-id=' + pyQuote(cell.id, FRAGMENT_SAFE) : null;
    }
    var site = siteSection || siteCell;
    var primary = site || labCell || notebookUrl;
    var markdown = '[' + name + ': ' + title + '](' + markdownUrl(primary) + ')';
    if (site && labCell) {
      markdown += ' ([open in JupyterLab](' + markdownUrl(labCell) + '))';
    }
    return {
      kind: heading !== null ? 'section' : 'cell',
      title: title,
      anchor: anchor,
      site_url: site,
      site_section_url: siteSection,
      site_cell_url: siteCell,
      section_url: labSection,
      cell_url: labCell,
      markdown: markdown
    };
  }

  var configPromise = null;

  /** course-links.json next to this file: {siteUrl, notebooks}; an empty config when it cannot load. */
  function loadConfig(app) {
    if (!configPromise) {
      var base =
        SCRIPT_URL ||
        app.serviceManager.serverSettings.baseUrl + 'lab/extensions/' + PACKAGE + '/static/remoteEntry.js';
      configPromise = fetch(new URL(CONFIG_FILE, base).href, { credentials: 'same-origin' })
        .then(function (response) {
          if (!response.ok) {
            throw new Error(response.status + ' ' + response.statusText);
          }
          return response.json();
        })
        .catch(function (reason) {
          console.warn(COPY_PLUGIN_ID + ': no ' + CONFIG_FILE + ', copying JupyterLab links only', reason);
          return {};
        });
    }
    return configPromise;
  }

  /** Put text on the clipboard: the asynchronous Clipboard API, or the older copy command. */
  function copyText(text) {
    function fallback() {
      var area = document.createElement('textarea');
      area.value = text;
      area.setAttribute('readonly', '');
      area.style.position = 'fixed';
      area.style.opacity = '0';
      document.body.appendChild(area);
      area.select();
      var copied = false;
      try {
        copied = document.execCommand('copy');
      } finally {
        document.body.removeChild(area);
      }
      if (!copied) {
        throw new Error('the browser refused to copy');
      }
    }
    if (navigator.clipboard && navigator.clipboard.writeText && window.isSecureContext) {
      return navigator.clipboard.writeText(text).catch(fallback);
    }
    return Promise.resolve().then(fallback);
  }

  function currentNotebook(app) {
    var widget = app.shell.currentWidget;
    return isNotebookPanel(widget) ? widget : null;
  }

  /** The cell right-clicked (from the context menu), else the active cell. */
  function targetCell(app, panel, args) {
    var notebook = panel.content;
    if (args && args.origin === 'context-menu' && typeof app.contextMenuHitTest === 'function') {
      var node = app.contextMenuHitTest(function (element) {
        return element.classList && element.classList.contains('jp-Cell');
      });
      var clicked = notebook.widgets.filter(function (cell) {
        return cell.node === node;
      })[0];
      if (clicked) {
        return clicked;
      }
    }
    return notebook.activeCell;
  }

  function linkForCell(app, panel, cellWidget, config) {
    var notebook = panel.content;
    var model = cellWidget.model;
    return cellLinks(
      {
        id: model.id,
        type: model.type,
        source: model.sharedModel ? model.sharedModel.getSource() : model.value.text,
        index: notebook.widgets.indexOf(cellWidget)
      },
      {
        path: panel.context.path,
        baseUrl: app.serviceManager.serverSettings.baseUrl,
        siteUrl: config.siteUrl || null,
        notebooks: config.notebooks || []
      }
    );
  }

  function copyPlugin(apputils) {
    var palette = apputils && apputils.ICommandPalette;
    var notification = apputils && apputils.Notification;
    return {
      id: COPY_PLUGIN_ID,
      description: 'Copy a link to the active cell (or its section): the course site and JupyterLab.',
      autoStart: true,
      optional: palette ? [palette] : [],
      activate: function (app, commandPalette) {
        loadConfig(app);
        app.commands.addCommand(COPY_COMMAND, {
          label: 'Copy Link to This Cell',
          caption:
            'Copy a markdown link to this cell (or its section) on the course site and in JupyterLab, ready to paste in the forum',
          isEnabled: function () {
            var panel = currentNotebook(app);
            return Boolean(panel && panel.content.activeCell);
          },
          execute: function (args) {
            var panel = currentNotebook(app);
            var cell = panel && targetCell(app, panel, args);
            if (!cell) {
              return Promise.resolve(null);
            }
            return loadConfig(app).then(function (config) {
              var link = linkForCell(app, panel, cell, config);
              return copyText(link.markdown).then(
                function () {
                  if (notification) {
                    notification.success('Link copied: ' + link.title, { autoClose: 3000 });
                  }
                  return link;
                },
                function (reason) {
                  if (notification) {
                    notification.error('Could not copy the link: ' + reason, { autoClose: 5000 });
                  }
                  throw reason;
                }
              );
            });
          }
        });
        app.contextMenu.addItem({
          command: COPY_COMMAND,
          selector: '.jp-Notebook .jp-Cell',
          rank: 12,
          args: { origin: 'context-menu' }
        });
        if (commandPalette) {
          commandPalette.addItem({ command: COPY_COMMAND, category: 'Notebook Cell Operations' });
        }
      }
    };
  }

  // --- webpack's container interface ---------------------------------------------------------

  var shareScope = null;

  /** A module JupyterLab shares (the version it loaded itself), or null. */
  function loadShared(name) {
    var versions = shareScope && shareScope[name];
    if (!versions) {
      return Promise.resolve(null);
    }
    var keys = Object.keys(versions);
    var chosen =
      keys.filter(function (key) {
        return versions[key].loaded;
      })[0] ||
      keys.sort(function (a, b) {
        return b.localeCompare(a, undefined, { numeric: true });
      })[0];
    return Promise.resolve()
      .then(function () {
        return versions[chosen].get();
      })
      .then(function (factory) {
        return factory();
      })
      .catch(function (reason) {
        console.warn(PACKAGE + ': could not load ' + name, reason);
        return null;
      });
  }

  var plugin = {
    id: PLUGIN_ID,
    description: 'Open a notebook at the cell or section named by the URL fragment, also on a fresh page load.',
    autoStart: true,
    activate: activate
  };

  // The link rules, for tests/test_copy_link.py (get('./links') returns them).
  var linkRules = {
    __esModule: true,
    cellLinks: cellLinks,
    headings: headings,
    headingText: headingText,
    summary: summary,
    pyQuote: pyQuote
  };

  var modules = {
    './extension': function () {
      return loadShared('@jupyterlab/apputils').then(function (apputils) {
        return function () {
          return { __esModule: true, default: [plugin, copyPlugin(apputils)] };
        };
      });
    },
    './links': function () {
      return Promise.resolve(function () {
        return linkRules;
      });
    }
  };

  var root = typeof window !== 'undefined' ? window : globalThis;
  root._JUPYTERLAB = root._JUPYTERLAB || {};
  root._JUPYTERLAB[PACKAGE] = {
    // JupyterLab's share scope: the copy-link plugin takes @jupyterlab/apputils from it.
    init: function (scope) {
      shareScope = scope || null;
      return Promise.resolve();
    },
    get: function (module) {
      var factory = modules[module];
      if (!factory) {
        return Promise.reject(new Error(PACKAGE + ' has no module ' + module));
      }
      return factory();
    }
  };
})();
