; inherits: ecma
; The import patterns are the same in both grammars: ../ecma/imports.scm.
