/*
 * course-utils-links: open a notebook at the cell or section named in its URL.
 *
 * Why: forum mentors paste links such as /lab/tree/learning-rate/02_sweep.ipynb#cell-id=test-plot-loss-against-rate
 * (printed by `course link`). JupyterLab 4 applies a URL fragment to the notebook that is current
 * when the page routes. On a fresh page load the linked notebook is not open yet at that moment,
 * so the fragment is dropped and the student lands at the top. This plugin remembers the fragment
 * and the path from the address the page was loaded with, waits for that notebook to become the
 * current widget and ready, then hands the fragment to the notebook's own setFragment (the same
 * call JupyterLab makes on later route changes). It acts once per page load and on nothing else.
 *
 * Why no build step: the plugin imports nothing from JupyterLab (it uses only the application
 * object it is given), so it needs none of webpack's shared-module machinery. JupyterLab loads a
 * prebuilt extension by running this file and calling the two functions of webpack's container
 * interface on window._JUPYTERLAB[<package name>]: init(shareScope) and get(module). They are
 * written out below; tests/test_browser.py checks that JupyterLab activates the plugin and that
 * links land on a fresh load.
 */
(function () {
  'use strict';

  var PACKAGE = 'course-utils-links';
  var PLUGIN_ID = PACKAGE + ':open-at-fragment';
  // The document part of JupyterLab and Notebook 7 addresses, after the server's base URL:
  // /lab/tree/<path>, /lab/workspaces/<name>/tree/<path>, /notebooks/<path>.
  var DOCUMENT_PATH = /\/(?:lab(?:\/workspaces\/[^/]+)?\/tree|notebooks)\/(.+)$/;
  var HEADING_WAIT_MS = 20000;

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

  function activate(app) {
    var target = linkTarget(window.location);
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

  var plugin = {
    id: PLUGIN_ID,
    description: 'Open a notebook at the cell or section named by the URL fragment, also on a fresh page load.',
    autoStart: true,
    activate: activate
  };

  var modules = {
    './extension': function () {
      return { __esModule: true, default: [plugin] };
    }
  };

  var root = typeof window !== 'undefined' ? window : globalThis;
  root._JUPYTERLAB = root._JUPYTERLAB || {};
  root._JUPYTERLAB[PACKAGE] = {
    // Nothing is shared: the plugin imports no module, so the share scope is not needed.
    init: function () {
      return Promise.resolve();
    },
    get: function (module) {
      var factory = modules[module];
      if (!factory) {
        return Promise.reject(new Error(PACKAGE + ' has no module ' + module));
      }
      return Promise.resolve(factory);
    }
  };
})();
