;;; xencode.el --- AI completions, actions and hovers from Ollama models  -*- lexical-binding: t; -*-

;; Author: Xencode contributors
;; Version: 0.1.0
;; Package-Requires: ((emacs "29.1"))
;; Keywords: languages, tools, convenience
;; SPDX-License-Identifier: MIT

;; This file is not part of GNU Emacs.

;;; Commentary:

;; Xencode is a language server (run as `xencode --stdio') that answers
;; completions, code actions and hovers from local Ollama models.  This
;; file connects it to Emacs through either LSP client:
;;
;; Eglot (built into Emacs 29+) runs ONE server per buffer, so a buffer
;; that Xencode serves through Eglot is not served by your usual language
;; server (typescript-language-server, pylsp, ...).  Pick the modes where
;; you want that trade:
;;
;;   (require 'xencode)
;;   (setq xencode-settings '(:models ["qwen2.5-coder:1.5b-base"]))
;;   (xencode-eglot-setup)                          ; every mode in `xencode-modes'
;;   (xencode-eglot-setup '(python-mode python-ts-mode))   ; ... or only these
;;
;; lsp-mode runs several servers per buffer; Xencode registers as an
;; add-on client that starts beside your main server:
;;
;;   (require 'xencode)
;;   (xencode-lsp-setup)
;;
;; Then: `completion-at-point' (C-M-i) offers the model's answer,
;; `eglot-code-actions' / `lsp-execute-code-action' list "Xencode: Refactor
;; method add" and friends, and eldoc (or C-h . / `lsp-describe-thing-at-point')
;; shows the hover.  `xencode-stats' shows what the server did,
;; `xencode-clear-cache' empties its answer cache and
;; `xencode-reload-settings' sends `xencode-settings' again.
;;
;; Emacs has no ghost text (inline completion) in Eglot or lsp-mode: the
;; answer comes in the completion popup.

;;; Code:

(require 'cl-lib)
(require 'eieio)
(require 'seq)

(defgroup xencode nil
  "AI completions, code actions and hovers from local Ollama models."
  :group 'tools
  :prefix "xencode-")

(defcustom xencode-command '("xencode" "--stdio")
  "Command line that starts the Xencode language server.
A list: the program, then its arguments.  With a checkout instead of a
global install, for example:
  (\"node\" \"/path/to/xencode/dist/server/cli.js\" \"--stdio\")"
  :type '(repeat string)
  :group 'xencode)

(defcustom xencode-settings nil
  "Xencode's settings, as a plist or an alist; nil means the server defaults.
They are sent as `initializationOptions.xencode' and as the `xencode'
section of `workspace/configuration'.  Keys are the keys of the README's
settings table (nested objects are nested plists or alists); arrays are
vectors or lists of strings; nil and :false are JSON false, t is true.
Example:
  (:ollama (:host \"http://127.0.0.1:11434\")
   :models [\"qwen2.5-coder:1.5b-base\"]
   :actions (:models [\"qwen2.5-coder:7b\"])
   :hover (:deadlineMs 4000))
After changing it in a running session, run `xencode-reload-settings'."
  :type 'sexp
  :group 'xencode)

(defcustom xencode-modes
  '((js-mode . "javascript")
    (js-ts-mode . "javascript")
    (typescript-mode . "typescript")
    (typescript-ts-mode . "typescript")
    (tsx-ts-mode . "typescriptreact")
    (python-mode . "python")
    (python-ts-mode . "python")
    (go-mode . "go")
    (go-ts-mode . "go")
    (rust-mode . "rust")
    (rust-ts-mode . "rust")
    (lua-mode . "lua")
    (lua-ts-mode . "lua"))
  "Major modes Xencode serves, each with the LSP languageId it sends.
Modes derived from these are served too (with the parent's languageId,
unless another entry says otherwise).  `xencode-eglot-setup' and
`xencode-lsp-setup' read this list."
  :type '(alist :key-type (symbol :tag "Major mode")
                :value-type (string :tag "LSP languageId"))
  :group 'xencode)

(defcustom xencode-action-timeout 130
  "Seconds Emacs waits for the edit of a code action.
The model runs when you pick the action, which can take a minute with a
large model, and Eglot's own wait is `jsonrpc-default-request-timeout'
\(10 s).  Keep this above the server's `actions.timeoutMs' (120 s by
default).  \[keyboard-quit] stops waiting."
  :type 'number
  :group 'xencode)

(defun xencode--mode-served-p (mode modes)
  "Non-nil if MODE is, or derives from, one of the major modes MODES."
  (and mode (apply #'provided-mode-derived-p mode modes)))

;;;; Settings as JSON

(defun xencode--plist-p (value)
  "Non-nil if VALUE is a property list with keyword keys."
  (and (consp value)
       (keywordp (car value))
       (proper-list-p value)
       (cl-evenp (length value))
       (cl-loop for key in value by #'cddr always (keywordp key))))

(defun xencode--alist-p (value)
  "Non-nil if VALUE is an association list with symbol or string keys."
  (and (consp value)
       (proper-list-p value)
       (cl-every (lambda (entry)
                   (and (consp entry)
                        (or (stringp (car entry))
                            (and (car entry) (symbolp (car entry))))
                        (not (xencode--plist-p entry))))
                 value)))

(defun xencode--key (key)
  "KEY (a symbol or string) as a keyword, the form JSON objects take here."
  (let ((name (if (symbolp key) (symbol-name key) key)))
    (intern (if (string-prefix-p ":" name) name (concat ":" name)))))

(defun xencode--json (value)
  "VALUE from `xencode-settings' in the shape `json-serialize' accepts.
Objects become plists with keyword keys, arrays vectors."
  (cond
   ((eq value t) t)
   ((memq value '(nil :false :json-false)) :json-false)
   ((or (stringp value) (numberp value)) value)
   ((vectorp value) (vconcat (mapcar #'xencode--json value)))
   ((hash-table-p value) value)
   ((xencode--plist-p value)
    (cl-loop for (key val) on value by #'cddr
             nconc (list key (xencode--json val))))
   ((xencode--alist-p value)
    (cl-loop for (key . val) in value
             nconc (list (xencode--key key) (xencode--json val))))
   ((proper-list-p value) (vconcat (mapcar #'xencode--json value)))
   ((keywordp value) (substring (symbol-name value) 1))
   ((symbolp value) (symbol-name value))
   (t (user-error "Xencode: cannot turn %S in `xencode-settings' into JSON" value))))

(defun xencode--settings-json ()
  "`xencode-settings' as a JSON object (an empty one when nil)."
  (let ((settings xencode-settings))
    (if (null settings)
        (make-hash-table :test #'equal)
      (let ((object (xencode--json settings)))
        (unless (or (xencode--plist-p object) (hash-table-p object))
          (user-error "Xencode: `xencode-settings' must be a plist or an alist, not %S"
                      settings))
        object))))

;;;; Eglot

(defvar eglot-server-programs)
(declare-function eglot-current-server "eglot" ())
(declare-function eglot-signal-didChangeConfiguration "eglot" (server))
(declare-function eglot--capabilities "eglot" (server))
(declare-function jsonrpc-request "jsonrpc" (connection method params &rest args))
(declare-function object-of-class-p "eieio" (obj class))

(defun xencode--eglot-contact (&optional _interactive _project)
  "The `eglot-server-programs' contact of Xencode: its class and command."
  (cons 'xencode-eglot-server (copy-sequence xencode-command)))

(defun xencode--eglot-own-entry-p (entry)
  "Non-nil if ENTRY of `eglot-server-programs' was added by Xencode."
  (eq (cdr-safe entry) #'xencode--eglot-contact))

(defun xencode--eglot-entry-modes (entry)
  "The major modes named by ENTRY of `eglot-server-programs'."
  (let ((modes (car entry)))
    (mapcar (lambda (spec) (car (ensure-list spec)))
            (if (or (symbolp modes) (keywordp (cadr modes))) (list modes) modes))))

(defun xencode--eglot-install (modes)
  "Put Xencode into `eglot-server-programs' for MODES.
MODES nil means every mode in `xencode-modes'."
  (setq eglot-server-programs
        (seq-remove #'xencode--eglot-own-entry-p eglot-server-programs))
  (let ((wanted (if modes
                    (seq-filter (lambda (entry) (memq (car entry) modes)) xencode-modes)
                  xencode-modes))
        (groups nil))
    (when (and modes (null wanted))
      (user-error "Xencode: none of %S is in `xencode-modes'" modes))
    ;; Group the modes by the entry that serves them now (Eglot takes the first entry a mode
    ;; matches), and put each group just before that entry: it then wins for those modes and
    ;; nowhere else (js-json-mode, derived from js-mode, keeps its JSON server).
    (dolist (mode-and-id wanted)
      (let* ((mode (car mode-and-id))
             (serving (seq-find (lambda (entry)
                                  (xencode--mode-served-p mode (xencode--eglot-entry-modes entry)))
                                eglot-server-programs))
             (group (assq serving groups)))
        (if group
            (setcdr group (append (cdr group) (list mode-and-id)))
          (push (list serving mode-and-id) groups))))
    (dolist (group (nreverse groups))
      (let* ((specs (mapcar (lambda (mode-and-id)
                              (list (car mode-and-id) :language-id (cdr mode-and-id)))
                            (cdr group)))
             (entry (cons specs #'xencode--eglot-contact))
             (before (car group))
             (position (and before (seq-position eglot-server-programs before #'eq))))
        (setq eglot-server-programs
              (if position
                  (append (seq-take eglot-server-programs position)
                          (list entry)
                          (seq-drop eglot-server-programs position))
                (append eglot-server-programs (list entry))))))))

;;;###autoload
(defun xencode-eglot-setup (&optional modes)
  "Make Eglot start Xencode for the major MODES (all of `xencode-modes' if nil).

Eglot runs ONE language server per buffer.  In these modes, Xencode then
REPLACES the server Eglot would otherwise start (typescript-language-server,
pylsp, gopls, rust-analyzer, ...): you get AI completions, code actions and
hovers, and lose that server's diagnostics, definitions and references.
Choose accordingly: pass only the modes where the trade is worth it, e.g.
  (xencode-eglot-setup \\='(python-mode python-ts-mode))
or use lsp-mode, which runs Xencode beside your server (`xencode-lsp-setup').
`xencode-eglot-teardown' undoes this.

Call it after your own changes to `eglot-server-programs'.  Each mode's
entry goes just before the entry that served it, so modes derived from it
that have their own entry (`js-json-mode') keep their server.  Settings
go from `xencode-settings' into `initializationOptions' and answer the
server's `workspace/configuration' request, unless a `:xencode' section
of `eglot-workspace-configuration' (e.g. in .dir-locals.el) says otherwise.
Start it with \\[eglot] or `eglot-ensure'."
  (interactive)
  (with-eval-after-load 'eglot
    (xencode--eglot-install modes)))

;;;###autoload
(defun xencode-eglot-teardown ()
  "Remove Xencode from `eglot-server-programs' (running servers keep running)."
  (interactive)
  (with-eval-after-load 'eglot
    (setq eglot-server-programs
          (seq-remove #'xencode--eglot-own-entry-p eglot-server-programs))))

;; Eglot (1.17) inserts a completion but never runs the item's `command', so the server would never
;; hear that its answer was taken.  For Xencode's items, run it after Eglot's own exit function.
(declare-function jsonrpc-async-request "jsonrpc" (connection method params &rest args))

(defun xencode--eglot-item-command (proxy table)
  "The `xencode.acceptCompletion' command of the completion PROXY from TABLE."
  (let* ((item (or (get-text-property 0 'eglot--lsp-item proxy)
                   ;; Picked from *Completions*, the string has no properties: look it up.
                   (let ((candidate (car (member proxy (all-completions "" table)))))
                     (and candidate (get-text-property 0 'eglot--lsp-item candidate)))))
         (command (plist-get item :command)))
    (and (equal (plist-get command :command) "xencode.acceptCompletion") command)))

(defun xencode--eglot-capf-filter (capf)
  "Make the completion data CAPF of Eglot report an accepted Xencode item."
  (let ((server (and (consp capf) (xencode--eglot-server))))
    (if (not server)
        capf
      (pcase-let* ((`(,beg ,end ,table . ,props) capf)
                   (exit (plist-get props :exit-function)))
        `(,beg ,end ,table
               :exit-function
               ,(lambda (proxy status)
                  (let ((command (and (memq status '(finished exact))
                                      (ignore-errors (xencode--eglot-item-command proxy table)))))
                    (when exit (funcall exit proxy status))
                    (when command
                      (jsonrpc-async-request server :workspace/executeCommand
                                             (list :command (plist-get command :command)
                                                   :arguments (plist-get command :arguments))
                                             :success-fn #'ignore :error-fn #'ignore))))
               ,@props)))))

;; Without a region, `eglot-code-actions' asks about the sexp at point (bounds-of-thing-at-point),
;; which Xencode takes as a selection ("Refactor selection" of one identifier).  In Xencode's
;; buffers, ask about point instead, so the actions target the function or method around it.
(defun xencode--eglot-code-action-bounds (bounds)
  "Point instead of the sexp BOUNDS Eglot computed, when Xencode serves the buffer."
  (if (and (not (use-region-p)) (xencode--eglot-server))
      (list (point) (point))
    bounds))

(declare-function eglot--request "eglot" (server method params &rest args))

(defun xencode--eglot-request (server method params)
  "Send the request METHOD with PARAMS to SERVER, waiting `xencode-action-timeout'."
  (if (fboundp 'eglot--request)
      ;; Sends the buffer's pending changes first.
      (eglot--request server method params :timeout xencode-action-timeout)
    (jsonrpc-request server method params :timeout xencode-action-timeout)))

(defun xencode--plist-without (plist key)
  "PLIST without KEY."
  (cl-loop for (k v) on plist by #'cddr unless (eq k key) nconc (list k v)))

(defun xencode--eglot-server-p (server)
  "Non-nil if the Eglot SERVER is Xencode."
  (or (object-of-class-p server 'xencode-eglot-server)
      (let ((commands (ignore-errors
                        (plist-get (plist-get (eglot--capabilities server) :executeCommandProvider)
                                   :commands))))
        (and (seq-contains-p commands "xencode.stats") t))))

(defun xencode--eglot-server ()
  "The Eglot connection to Xencode of the current buffer, or nil."
  (when (fboundp 'eglot-current-server)
    (let ((server (eglot-current-server)))
      (and server (xencode--eglot-server-p server) server))))

;; The class, its methods and the advice are set up once Eglot is loaded (the parent class lives
;; there), so that loading this file does not load Eglot.  `defclass' away from top level leaves
;; the byte compiler unaware of the type predicate it defines:
(declare-function xencode-eglot-server--eieio-childp "xencode" (object))

(with-eval-after-load 'eglot
  (defclass xencode-eglot-server (eglot-lsp-server) ()
    :documentation "Xencode's language server, as Eglot runs it.")

  (cl-defmethod eglot-initialization-options ((_server xencode-eglot-server))
    "Xencode's `initializationOptions': `xencode-settings' under `xencode'."
    (list :xencode (xencode--settings-json)))

  (cl-defmethod eglot-handle-request
    ((_server xencode-eglot-server) (_method (eql 'workspace/configuration)) &key items)
    "Answer the `xencode' section from `xencode-settings' where Eglot has none."
    (let ((answers (cl-call-next-method)))
      (cl-loop for item across items
               for index from 0
               when (and (equal (plist-get item :section) "xencode")
                         (null (aref answers index)))
               do (aset answers index (xencode--settings-json)))
      answers))

  (cl-defmethod eglot-execute ((server xencode-eglot-server) action)
    "Run Xencode's code ACTION on SERVER: resolve it once, and wait for the model.
Eglot resolves an action again while the answer has `data' and no edit
\(an action whose models gave nothing usable would loop), and waits 10 s."
    (let ((command (plist-get action :command)))
      (cond
       ((and (plist-get action :data) (null (plist-get action :edit)) (null command))
        (let ((resolved (xencode--eglot-request server :codeAction/resolve action)))
          (cl-call-next-method server (xencode--plist-without resolved :data))))
       ((equal command "xencode.runAction")
        (xencode--eglot-request server :workspace/executeCommand
                                (list :command command
                                      :arguments (plist-get action :arguments))))
       (t (cl-call-next-method)))))

  (advice-add 'eglot-completion-at-point :filter-return #'xencode--eglot-capf-filter)
  (advice-add 'eglot--code-action-bounds :filter-return #'xencode--eglot-code-action-bounds))

;;;; lsp-mode

(defvar lsp--cur-workspace)
(declare-function lsp-register-client "ext:lsp-mode" (client))
(declare-function make-lsp-client "ext:lsp-mode" (&rest args))
(declare-function lsp-stdio-connection "ext:lsp-mode" (command &optional test-command))
(declare-function lsp-workspaces "ext:lsp-mode" ())
(declare-function lsp--workspace-client "ext:lsp-mode" (workspace))
(declare-function lsp--client-server-id "ext:lsp-mode" (client))
(declare-function lsp-request "ext:lsp-mode" (method params &rest args))
(declare-function lsp-notify "ext:lsp-mode" (method params))
(declare-function lsp-request-async "ext:lsp-mode" (method params callback &rest args))

(defun xencode--lsp-field (object key)
  "KEY (a keyword) of the JSON OBJECT, as lsp-mode parsed it (hash table or plist)."
  (if (hash-table-p object)
      (gethash (substring (symbol-name key) 1) object)
    (plist-get object key)))

(defun xencode--lsp-run-command (command)
  "Send the LSP COMMAND (of a completion item or code action) to Xencode only.
lsp-mode would send it to every server of the buffer that runs commands."
  (let ((workspace (xencode--lsp-workspace)))
    (unless workspace (user-error "Xencode is not running in this buffer"))
    (let ((lsp--cur-workspace workspace)
          (arguments (xencode--lsp-field command :arguments)))
      (lsp-request-async "workspace/executeCommand"
                         (append (list :command (xencode--lsp-field command :command))
                                 (and arguments (list :arguments arguments)))
                         #'ignore))))

(defvar lsp-response-timeout)

(defun xencode--lsp-execute-code-action (execute action)
  "Run EXECUTE (`lsp-execute-code-action') on ACTION; Xencode's with Xencode only.
lsp-mode sends `codeAction/resolve' to every server of the buffer that
resolves actions, and waits `lsp-response-timeout' (10 s) for the model."
  (let ((workspace (and (string-prefix-p "Xencode: " (or (xencode--lsp-field action :title) ""))
                        (xencode--lsp-workspace))))
    (if (not workspace)
        (funcall execute action)
      (let ((lsp--cur-workspace workspace)
            (lsp-response-timeout (max xencode-action-timeout
                                       (if (boundp 'lsp-response-timeout) lsp-response-timeout 0))))
        (funcall execute action)))))

(defun xencode--lsp-action-handlers ()
  "Handlers that keep Xencode's commands away from the other servers."
  (let ((handlers (make-hash-table :test #'equal)))
    (dolist (command '("xencode.acceptCompletion" "xencode.rejectCompletion" "xencode.runAction"))
      (puthash command #'xencode--lsp-run-command handlers))
    handlers))

(defun xencode--lsp-activate-p (_file-name mode)
  "Whether lsp-mode should start Xencode for a buffer in major MODE."
  (xencode--mode-served-p mode (mapcar #'car xencode-modes)))

(defun xencode--lsp-register ()
  "Register Xencode with lsp-mode as an add-on client."
  (advice-add 'lsp-execute-code-action :around #'xencode--lsp-execute-code-action)
  (lsp-register-client
   (make-lsp-client
    :new-connection (lsp-stdio-connection (lambda () xencode-command))
    :activation-fn #'xencode--lsp-activate-p
    :add-on? t
    :priority -1
    :server-id 'xencode
    :completion-in-comments? t
    :action-handlers (xencode--lsp-action-handlers)
    :initialization-options (lambda () (list :xencode (xencode--settings-json))))))

;;;###autoload
(defun xencode-lsp-setup ()
  "Register Xencode with lsp-mode as an add-on client, beside your main server.
lsp-mode starts it (`lsp' or `lsp-deferred') in buffers whose major mode is,
or derives from, one of `xencode-modes', next to the buffer's usual server:
completions from both are merged into one list, and the code actions of
both are offered.  Settings go from `xencode-settings' into
`initializationOptions'.  Registration waits until lsp-mode is loaded; if
lsp-mode is not installed, nothing happens."
  (interactive)
  (with-eval-after-load 'lsp-mode
    (xencode--lsp-register))
  (when (and (called-interactively-p 'interactive)
             (not (featurep 'lsp-mode))
             (not (require 'lsp-mode nil t)))
    (message "Xencode: lsp-mode is not installed; it will be registered when lsp-mode loads")))

(defun xencode--lsp-workspace ()
  "The lsp-mode workspace of Xencode in the current buffer, or nil."
  (when (and (bound-and-true-p lsp-mode) (fboundp 'lsp-workspaces))
    (seq-find (lambda (workspace)
                (eq (lsp--client-server-id (lsp--workspace-client workspace)) 'xencode))
              (let ((lsp--cur-workspace nil)) (lsp-workspaces)))))

;;;; Commands

(declare-function json-pretty-print-buffer "json" (&optional minimize))
(declare-function js-json-mode "js" ())

(defun xencode--execute-command (command)
  "Run the Xencode COMMAND (a string) on the current buffer's server.
Return the command's result."
  (let ((params (list :command command :arguments [])))
    (if-let* ((server (xencode--eglot-server)))
        (jsonrpc-request server :workspace/executeCommand params)
      (if-let* ((workspace (xencode--lsp-workspace)))
          (let ((lsp--cur-workspace workspace))
            (lsp-request "workspace/executeCommand" params))
        (user-error "No Xencode server in this buffer (start one with M-x eglot or M-x lsp)")))))

(defun xencode--json-text (value)
  "VALUE, parsed from JSON by Eglot or lsp-mode, as indented JSON text."
  (require 'json)
  (with-temp-buffer
    (let ((json (json-serialize value :null-object nil :false-object :json-false)))
      ;; Emacs 30's json-serialize gives UTF-8 bytes.
      (insert (if (multibyte-string-p json) json (decode-coding-string json 'utf-8))))
    (json-pretty-print-buffer)
    (buffer-string)))

;;;###autoload
(defun xencode-stats ()
  "Show the statistics of the current buffer's Xencode server in a buffer.
Requests, answers and accepts; per model: requests, answers in time, wins,
failures and mean latency; code actions and hovers; the cache."
  (interactive)
  (let ((stats (xencode--execute-command "xencode.stats"))
        (buffer (get-buffer-create "*xencode stats*")))
    (with-current-buffer buffer
      (let ((inhibit-read-only t))
        (erase-buffer)
        (insert (xencode--json-text stats))
        (goto-char (point-min)))
      (when (require 'js nil t) (js-json-mode))
      (view-mode 1))
    (display-buffer buffer)
    buffer))

;;;###autoload
(defun xencode-clear-cache ()
  "Empty the answer cache of the current buffer's Xencode server.
Memory and disk, hovers included."
  (interactive)
  (xencode--execute-command "xencode.clearCache")
  (message "Xencode: cache cleared"))

;;;###autoload
(defun xencode-reload-settings ()
  "Send `xencode-settings' to the current buffer's running Xencode server."
  (interactive)
  (if-let* ((server (xencode--eglot-server)))
      ;; Sends `eglot-workspace-configuration'; without a `:xencode' section in it, the server asks
      ;; `workspace/configuration', which answers `xencode-settings'.
      (eglot-signal-didChangeConfiguration server)
    (if-let* ((workspace (xencode--lsp-workspace)))
        (let ((lsp--cur-workspace workspace))
          (lsp-notify "workspace/didChangeConfiguration"
                      (list :settings (list :xencode (xencode--settings-json)))))
      (user-error "No Xencode server in this buffer (start one with M-x eglot or M-x lsp)")))
  (message "Xencode: settings sent"))

(provide 'xencode)
;;; xencode.el ends here
