;;; setup-checks.el --- What xencode.el sets up, without a server  -*- lexical-binding: t; -*-

;;; Commentary:

;; Run by test/e2e/emacs.test.ts as `emacs --batch -Q -l xencode.elc -l setup-checks.el'; prints one
;; line per check, which the test compares.

;;; Code:

(require 'json)

;; lsp-mode is not installed: its setup only waits for it; loading xencode.el loads neither client.
(xencode-lsp-setup)
(xencode-eglot-setup)
(princ (format "loaded: lsp-mode=%s eglot=%s\n" (featurep 'lsp-mode) (featurep 'eglot)))

;; The settings, written as an alist, become the JSON the server reads.
(let ((xencode-settings '((ollama (host . "http://127.0.0.1:9")) (models "a" "b") (hover (enabled)))))
  (princ (format "json: %s\n" (json-serialize (xencode--settings-json) :false-object :json-false))))

;; Eglot's choice of server per major mode.
(require 'eglot)
(require 'js)

(defun setup-checks--server-for (mode)
  "Which server Eglot would start for MODE: xencode/LANGUAGE-ID or other."
  (let ((found (eglot--lookup-mode mode)))
    (if (eq (cdr found) #'xencode--eglot-contact)
        (format "xencode/%s" (cdr (assq mode (car found))))
      "other")))

(defun setup-checks--show (label)
  "Print LABEL and the server of a few modes."
  (princ (format "%s: %s\n" label
                 (mapconcat (lambda (mode) (format "%s=%s" mode (setup-checks--server-for mode)))
                            '(typescript-ts-mode tsx-ts-mode js-mode js-json-mode python-ts-mode rust-ts-mode)
                            " "))))

(setup-checks--show "all")
(xencode-eglot-setup '(python-mode python-ts-mode))
(setup-checks--show "python")
(xencode-eglot-teardown)
(setup-checks--show "none")

;;; setup-checks.el ends here
